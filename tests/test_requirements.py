"""The lock is the one source of versions: the CI jobs' requirement files are exported from it, unedited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.conftest import REPO

# The uv the dev extra pins (the Makefile bootstraps the same version).
UV = Path(sys.executable).parent / "uv"
REQUIREMENTS = {"pipelines": REPO / "pipelines" / "requirements.txt", "deploy": REPO / "deploy" / "requirements.txt"}


def locked() -> dict[str, set[str]]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        versions.setdefault(package["name"], set()).add(package["version"])
    return versions


@pytest.mark.parametrize("group", sorted(REQUIREMENTS))
def test_requirement_files_are_the_locks_export(group: str) -> None:
    exported = subprocess.run(
        [str(UV), "export", "--frozen", "--no-emit-project", "--only-group", group, "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    body = REQUIREMENTS[group].read_text()
    # Only uv's header comment may differ (it names the output file); `make requirements` rewrites both.
    assert [line for line in body.splitlines() if not line.startswith("#")] == [
        line for line in exported.splitlines() if not line.startswith("#")
    ], f"{REQUIREMENTS[group].relative_to(REPO)} is stale: run `make requirements`"


def test_requirement_files_pin_with_hashes_what_the_lock_pins() -> None:
    versions = locked()
    for path in REQUIREMENTS.values():
        pins = [line.split(" ")[0] for line in path.read_text().splitlines() if line and line[0].isalnum()]
        assert pins, path
        for pin in pins:
            name, _, version = pin.partition("==")
            assert version in versions.get(name, set()), (path.name, pin)
        assert path.read_text().count("--hash=sha256:") >= len(pins)


def test_the_lock_has_the_cpu_only_xgboost_and_no_nvidia_libraries() -> None:
    names = set(locked())
    assert "xgboost-cpu" in names
    assert "xgboost" not in names
    assert not {name for name in names if name.startswith("nvidia-")}


def test_the_pipeline_requirements_hold_what_run_pipeline_imports() -> None:
    pins = {line.split("==")[0] for line in REQUIREMENTS["pipelines"].read_text().splitlines() if "==" in line}
    assert {"sagemaker", "boto3", "rich"} <= pins
    assert {"boto3", "botocore"} <= {
        line.split("==")[0] for line in REQUIREMENTS["deploy"].read_text().splitlines() if "==" in line
    }
