"""What `make setup` relies on (the uv it bootstraps, how it looks for a browser for the dashboard tests), and
what CI's entry point runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib

from tests.conftest import REPO
from tests.dashboard.test_browser import CHROMIUM_NAMES

ENSURE_CHROMIUM = REPO / "scripts" / "ensure_chromium.sh"


def test_the_makefile_bootstraps_the_uv_the_lock_pins() -> None:
    (makefile_version,) = re.findall(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert f"uv=={makefile_version}" in pyproject["project"]["dependencies"]
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    assert [p["version"] for p in lock["package"] if p["name"] == "uv"] == [makefile_version]


def test_the_setup_script_looks_for_the_names_the_browser_tests_use() -> None:
    (names,) = re.findall(r'^NAMES="([^"]+)"$', ENSURE_CHROMIUM.read_text(), re.M)
    assert tuple(names.split()) == CHROMIUM_NAMES


def executable(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def ensure(bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # A non-root `id` first on PATH: whatever happens, apt-get is never reached.
    executable(bin_dir / "id", "echo 1000")
    return subprocess.run(
        ["/bin/sh", str(ENSURE_CHROMIUM)],
        env={"PATH": str(bin_dir), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("name", CHROMIUM_NAMES)
def test_any_browser_the_tests_would_use_is_enough(tmp_path: Path, name: str) -> None:
    executable(tmp_path / name, "exit 0")
    result = ensure(tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_showcase_chromium_is_enough(tmp_path: Path) -> None:
    browser = executable(tmp_path / "my-chrome", "exit 0")
    (tmp_path / "bin").mkdir()
    result = ensure(tmp_path / "bin", SHOWCASE_CHROMIUM=str(browser))
    assert (result.returncode, result.stdout) == (0, "")


def test_a_showcase_chromium_that_is_not_a_file_is_reported(tmp_path: Path) -> None:
    result = ensure(tmp_path, SHOWCASE_CHROMIUM=str(tmp_path / "gone"))
    assert result.returncode == 0
    assert result.stdout == (
        f"SHOWCASE_CHROMIUM names {tmp_path / 'gone'}, which is not a file: the dashboard's browser tests will fail\n"
    )


def test_with_no_browser_and_no_root_it_says_what_the_tests_look_for(tmp_path: Path) -> None:
    result = ensure(tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "No Chromium or Chrome found (SHOWCASE_CHROMIUM, or one of: "
        "chromium chromium-browser google-chrome google-chrome-stable on PATH);",
        "the dashboard's browser tests will fail until there is one, e.g.:",
        "  sudo apt-get update && sudo apt-get install -y chromium",
    ]


def test_ci_lints_then_tests_and_stops_at_the_first_that_fails(tmp_path: Path) -> None:
    """.ci/run with a stand-in make that records its targets and fails the one named in FAIL."""
    calls = tmp_path / "calls"
    executable(tmp_path / "make", f'echo "$1" >> "{calls}"; [ "$1" != "$FAIL" ]')
    ci = [str(REPO / ".ci" / "run")]
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    assert subprocess.run(ci, env=env, capture_output=True, timeout=30).returncode == 0
    assert calls.read_text().split() == ["lint", "test"]
    calls.unlink()
    assert subprocess.run(ci, env={**env, "FAIL": "lint"}, capture_output=True, timeout=30).returncode != 0
    assert calls.read_text().split() == ["lint"]


def test_make_lint_checks_the_formatting_of_every_tree_it_checks() -> None:
    """`make -n lint` (setup taken as done): ``ruff format --check`` over the trees ``ruff check`` reads."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = dry.stdout.splitlines()
    checked = [line.partition(" check ")[2] for line in lines if line.startswith(".venv/bin/ruff check ")]
    formatted = [line.partition(" --check ")[2] for line in lines if line.startswith(".venv/bin/ruff format --check ")]
    assert checked == formatted and "src tests" in checked[0], lines
