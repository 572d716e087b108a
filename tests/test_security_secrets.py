"""AWS credentials never reach output, logs, step logs, execution records or the endpoint's files.

Recognisable values for AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are put in the environment
of every command here: a local pipeline that succeeds and one that fails, run_pipeline.py's AWS path against moto
with an AWS error, build_config_file.py against moto (found and not found), and a serving endpoint (good and bad
requests, data capture on). Then every byte each wrote (stdout, stderr, every file under its state home) is
searched for the values.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.conftest import REGION, ROLE_ARN
from tests.reliability_support import REPO, build_definition, clean_env, local_cli, prepare_home, start_args
from tests.serving_support import ROW, register, serving, train_booster, write_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIASHOWCASELEAK7Q3Z",
    "AWS_SECRET_ACCESS_KEY": "ShowcaseLeakSecret/9f8e7d+6c5b4a3210zyxwvu",
    "AWS_SESSION_TOKEN": "ShowcaseLeakSessionToken//IQoJb3JpZ2luX2VjEXAMPLE",
}


def leaks(
    *texts: str | bytes, homes: tuple[Path, ...] = (), secrets: tuple[dict[str, str], ...] = (SECRETS,)
) -> list[str]:
    """Where a secret value appears: '<NAME> in <output or file>'."""
    found = []
    blobs: list[tuple[str, bytes]] = [
        (f"output {index}", text.encode() if isinstance(text, str) else text) for index, text in enumerate(texts)
    ]
    for home in homes:
        blobs += [(str(path), path.read_bytes()) for path in sorted(home.rglob("*")) if path.is_file()]
    assert len(blobs) > len(texts) or not homes, "nothing was written to search"
    for where, blob in blobs:
        found += [f"{name} in {where}" for each in secrets for name, value in each.items() if value.encode() in blob]
    return found


def secret_env(**extra: str) -> dict[str, str]:
    return clean_env(**SECRETS, AWS_DEFAULT_REGION=REGION, **extra)


def test_local_pipeline_success_and_failure(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, abalone_path: Path
) -> None:
    definition, uploads = build_definition(tmp_path_factory.getbasetemp() / "reliability-definition", abalone_path)
    home = prepare_home(tmp_path / "home", uploads)
    outputs = []
    empty = tmp_path / "empty.data"  # a path that exists (a missing one is refused before the run) with no rows
    empty.write_text("")
    for parameters, level, code in [
        (("NumRound=5", "MseThreshold=1000"), "INFO", 0),  # registers a model
        (("NumRound=5", "MseThreshold=0.001"), "DEBUG", 1),  # FailOnMse
        (("NumRound=5", f"InputData={empty}"), "INFO", 1),  # PrepareData fails
    ]:
        result = subprocess.run(
            [*local_cli(home, "--log-level", level, *start_args(definition, *parameters))],
            capture_output=True,
            timeout=180,
            env=secret_env(),
        )
        assert result.returncode == code, result.stderr[-2000:]
        outputs += [result.stdout, result.stderr]
    executions = [path.name for path in (home / "executions").iterdir()]
    for execution_id in executions:
        for command in (("describe", execution_id), ("logs", execution_id, "PrepareData")):
            shown = subprocess.run(local_cli(home, *command), capture_output=True, timeout=60, env=secret_env())
            outputs += [shown.stdout, shown.stderr]
    assert len(executions) == 3 and list((home / "executions").rglob("*.log"))
    assert leaks(*outputs, homes=(home,)) == []


# The definition build of run_pipeline.py --local (the build cache included), its logging at DEBUG, in a fresh process.
BUILD_LOCALLY = """
import sys
from showcase.cli import run_pipeline
from showcase.cli.common import configure_logging
configure_logging("DEBUG")
args = run_pipeline.build_parser().parse_args(["-n", "showcase.pipeline", "--local", "--home", sys.argv[1]])
run_pipeline._build_local(args)
"""


def test_the_build_cache_keeps_no_credential_and_rotating_them_builds_nothing_again(tmp_path: Path) -> None:
    """A local build hides the user's credentials from the module before it is imported, so they are no input of
    the build: the cache entry holds neither their values nor anything to compare them with, and new ones reuse it."""
    home = tmp_path / "home"
    rotated = {name: value[::-1] for name, value in SECRETS.items()}

    def build(secrets: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
        env = clean_env(**secrets, AWS_DEFAULT_REGION=REGION)
        result = subprocess.run(
            [sys.executable, "-c", BUILD_LOCALLY, str(home)], capture_output=True, timeout=180, env=env, cwd=REPO
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result

    first = build(SECRETS)
    assert list((home / "definitions").glob("*.json")), "the build kept no definition"
    second = build(rotated)
    assert b"definition of crayonShowcasePipeline: reused" in second.stderr, second.stderr[-2000:]
    outputs = (first.stdout, first.stderr, second.stdout, second.stderr)
    assert leaks(*outputs, homes=(home,), secrets=(SECRETS, rotated)) == []


def run_pipeline_aws(env: dict[str, str], level: str) -> subprocess.CompletedProcess[bytes]:
    kwargs = json.dumps({"region": REGION, "role": ROLE_ARN, "default_bucket": "no-such-bucket"})
    return subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "-n", "showcase.pipeline", "-r", ROLE_ARN,
         "-k", kwargs, "--quiet-definition", "--log-level", level],
        capture_output=True, timeout=180, env=env, cwd=REPO,
    )  # fmt: skip


def test_run_pipeline_on_aws_with_an_error(aws_env: dict[str, str]) -> None:
    result = run_pipeline_aws(secret_env(AWS_ENDPOINT_URL=aws_env["AWS_ENDPOINT_URL"]), "INFO")
    assert result.returncode == 1 and b"NoSuchBucket" in result.stderr  # the AWS error was reached and reported
    assert leaks(result.stdout, result.stderr) == []


def test_run_pipeline_on_aws_at_debug_level(aws_env: dict[str, str]) -> None:
    """At DEBUG, botocore's own records print each signed request (Authorization, X-Amz-Security-Token)."""
    result = run_pipeline_aws(secret_env(AWS_ENDPOINT_URL=aws_env["AWS_ENDPOINT_URL"]), "DEBUG")
    assert result.returncode == 1 and b"NoSuchBucket" in result.stderr
    assert leaks(result.stdout, result.stderr) == []


def test_build_config_found_and_not_found(aws_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copy(REPO / "deploy" / "endpoint_config.json", tmp_path / "endpoint_config.json")
    args = [sys.executable, str(REPO / "deploy" / "build_config_file.py"), "--model-execution-role", ROLE_ARN,
            "--model-package-group-name", "leak-group", "--region", REGION]  # fmt: skip
    env = secret_env(AWS_ENDPOINT_URL=aws_env["AWS_ENDPOINT_URL"])
    missing = subprocess.run(args, capture_output=True, timeout=120, env=env, cwd=tmp_path)
    assert missing.returncode != 0 and missing.stderr
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName="leak-group")
    sagemaker.create_model_package(ModelPackageGroupName="leak-group", ModelApprovalStatus="Approved")
    found = subprocess.run(args, capture_output=True, timeout=120, env=env, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert (tmp_path / "endpoint_config_adj.json").is_file()
    assert leaks(missing.stdout, missing.stderr, found.stdout, found.stderr, homes=(tmp_path,)) == []


def test_the_endpoint(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(
        tmp_path / "config.json", register(home, train_booster()), EnableDataCapture="true", SamplingPercentage="100"
    )
    with serving(home, config, workers=1, extra_env=SECRETS) as running:
        assert running.invoke(ROW)[0] == 200
        assert running.invoke("1,2")[0] == 400
        assert running.invoke(ROW, content_type="application/x-secret")[0] == 415
        assert running.request("GET", "/nowhere")[0] == 404
    assert list(home.rglob("*.jsonl")), "data capture wrote nothing to search"
    assert leaks(homes=(home,)) == []
