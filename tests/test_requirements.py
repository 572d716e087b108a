"""The lock is the one source of versions: the CI jobs' requirement files are exported from it, unedited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.conftest import REPO

# The uv the project pins (the Makefile bootstraps the same version).
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


def job_venv(tmp_path: Path, group: str) -> Path:
    """A venv holding only what the workflow's job installs, as the job installs it: from the package index.

    Not ``--offline``: resolving hash-pinned requirements needs the index's pages, which ``uv sync --locked``
    (``make setup``) never fetches, so a fresh machine's cache cannot hold them. Wheels already in the cache are
    reused; the index is a package registry, reachable wherever ``make setup`` is."""
    venv = tmp_path / group
    subprocess.run([str(UV), "venv", "--quiet", str(venv), "--python", sys.executable], check=True, timeout=60)
    install = [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    subprocess.run([*install, "-r", str(REQUIREMENTS[group])], check=True, timeout=300)
    return venv / "bin" / "python"


def run_in(python: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_train_job_builds_the_pipeline_with_its_requirements_alone(tmp_path: Path) -> None:
    python = job_venv(tmp_path, "pipelines")
    build = (
        "import sys; sys.path.insert(0, 'src'); import showcase.cli.run_pipeline; "
        "from showcase.pipeline import get_pipeline; print(len(get_pipeline(region='eu-west-1').definition()))"
    )
    result = run_in(python, "-c", build)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 1000


def test_the_deploy_job_runs_build_config_file_with_its_requirements_alone(tmp_path: Path) -> None:
    python = job_venv(tmp_path, "deploy")
    # As the workflow runs it, in deploy/; it gets as far as reading the template (pyyaml) and checking the role.
    flags = ["--model-execution-role", "r", "--model-package-group-name", "g"]
    result = run_in(python, "build_config_file.py", *flags, cwd=REPO / "deploy")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: --model-execution-role: ModelExecutionRoleArn 'r' must match the pattern")
    # The staging test and the post-deploy check load with the same requirements (boto3, PyYAML) alone.
    for script in ("test_endpoint.py", "check_endpoint.py"):
        loaded = run_in(python, script, "--help", cwd=REPO / "deploy")
        assert loaded.returncode == 0, loaded.stderr[-2000:]
