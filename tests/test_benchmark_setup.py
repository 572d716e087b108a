"""benchmarks/setup.py as a user runs it: ``--help`` explains and starts nothing, and each clone's ``make setup``
runs outside the venv the benchmark itself may run in (a uv-made venv has no pip, which bootstraps uv)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from types import ModuleType

from tests.conftest import REPO

BENCHMARK = REPO / "benchmarks" / "setup.py"


def benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("setup_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_explains_and_runs_nothing() -> None:
    result = subprocess.run([sys.executable, str(BENCHMARK), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: setup.py [-h]")
    assert "wall s" not in result.stdout  # the benchmark's table: it did not start


def test_each_clone_runs_outside_the_active_venv() -> None:
    venv = REPO / ".venv"
    environ = {"VIRTUAL_ENV": str(venv), "PATH": os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin"])}
    env = benchmark().outside_any_venv(environ)
    assert "VIRTUAL_ENV" not in env
    assert env["PATH"].split(os.pathsep) == ["/usr/local/bin", "/usr/bin"]


def test_this_interpreters_own_venv_is_left_too_when_not_activated() -> None:
    """``.venv/bin/python benchmarks/setup.py`` without ``activate``: no VIRTUAL_ENV, the venv is sys.prefix."""
    env = benchmark().outside_any_venv({"PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/bin"])})
    assert env["PATH"].split(os.pathsep) == (
        ["/usr/bin"] if sys.prefix != sys.base_prefix else [f"{sys.prefix}/bin", "/usr/bin"]
    )
