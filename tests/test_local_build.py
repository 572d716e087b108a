"""Building users' pipeline modules with no AWS: their own sessions, their own clients, the SDK's uploads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from showcase.aws.local_build import local_build
from showcase.cli.run_pipeline import build_locally, import_pipeline_module, local_defaults
from showcase.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "tests.parity.abalone_template.pipeline"
ACCOUNT = "000000000000"


@pytest.fixture()
def real_looking_aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What a developer's shell may hold; none of it may be used by a local build, all of it comes back."""
    values = {
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY00",
        "AWS_SECRET_ACCESS_KEY": "real-looking-secret",
        "AWS_PROFILE": "someone",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_a_module_with_its_own_sessions_builds_and_its_uploads_are_kept(
    real_looking_aws: dict[str, str], abalone_path: Path
) -> None:
    before = dict(os.environ)
    _, definition, uploads = build_locally(
        TEMPLATE, {"local_data": str(abalone_path)}, region="eu-west-1", account=ACCOUNT
    )
    assert [step["Name"] for step in definition["Steps"]] == [
        "PreprocessAbaloneData",
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
    ]
    # The data the module uploaded with S3Uploader, and the code the SDK uploaded for each processor.
    assert uploads["s3://showcase-local/abalone/dataset/abalone.data"] == abalone_path.read_bytes()
    code = {uri.rsplit("/", 1)[1]: data for uri, data in uploads.items() if "/code/" in uri}
    template = REPO / "tests" / "parity" / "abalone_template"
    assert code == {name: (template / name).read_bytes() for name in ("preprocess.py", "evaluate.py")}
    # The default role and bucket filled in; the environment is exactly what it was.
    assert definition["Steps"][0]["Arguments"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/showcase-local-execution"
    assert dict(os.environ) == before


def test_any_other_aws_call_fails_in_one_line_naming_it(real_looking_aws: dict[str, str]) -> None:
    refused = r"AWS calls a local build cannot answer \(sagemaker:ListPipelines\)"
    with pytest.raises(UsageError, match=refused), local_build("eu-west-1", ACCOUNT):
        boto3.client("sagemaker").list_pipelines()
    assert os.environ["AWS_ACCESS_KEY_ID"] == real_looking_aws["AWS_ACCESS_KEY_ID"]


def test_a_refusal_the_sdk_handles_lets_the_build_go_on() -> None:
    """The refusal is AWS-shaped (a ClientError), so code that copes with AWS refusing a call copes here too."""
    from botocore.exceptions import ClientError

    with local_build("eu-west-1", ACCOUNT) as build:
        try:
            boto3.client("iam").get_role(RoleName="anything")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "LocalBuildUnsupported"
    assert build.refused == ["iam:GetRole"]


def test_a_large_upload_arrives_whole_through_multipart(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # above boto3's 8 MiB multipart threshold
    with local_build("eu-west-1", ACCOUNT) as build:
        boto3.client("s3").upload_file(str(big), "bucket", "some/key.bin")
    assert build.uploads == {"s3://bucket/some/key.bin": big.read_bytes()}


def test_local_defaults_fill_only_what_get_pipeline_names() -> None:
    module = import_pipeline_module(TEMPLATE)
    assert local_defaults(module, "eu-west-1", ACCOUNT) == {
        "region": "eu-west-1",
        "role": f"arn:aws:iam::{ACCOUNT}:role/showcase-local-execution",
        "default_bucket": "showcase-local",
    }
    other = import_pipeline_module("tests.other_pipeline")
    assert set(local_defaults(other, "eu-west-1", ACCOUNT)) <= set(
        __import__("inspect").signature(other.get_pipeline).parameters
    )


def test_the_cli_imports_a_module_that_needs_a_region_at_import_without_a_traceback(tmp_path: Path) -> None:
    """No AWS_DEFAULT_REGION and no credentials: the module (which builds clients at import) still builds."""
    (tmp_path / "region_at_import.py").write_text(
        "import boto3\n"
        "CLIENT = boto3.client('sagemaker')\n"
        "def get_pipeline(region, role=None):\n"
        "    CLIENT.describe_pipeline(PipelineName='x')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    env.update(SHOWCASE_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO / "src"))
    result = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "-n", "region_at_import", "--local"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "error: building the pipeline made AWS calls a local build cannot answer (sagemaker:DescribePipeline)"
        )
    )
