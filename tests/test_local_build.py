"""Building users' pipeline modules with no AWS: their own sessions, their own clients, the SDK's uploads; and the
process as it was once a build ends (the table in showcase.builder's docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from showcase.builder.answers import LocalBuild
from showcase.builder.cache import BuildCache
from showcase.builder.modules import build_for_publishing, build_locally, import_pipeline_module, local_defaults
from showcase.builder.offline import offline_build
from showcase.errors import UsageError
from showcase.local.digests import FileDigests

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "tests.parity.abalone_template.pipeline"
ACCOUNT = "000000000000"


def local() -> LocalBuild:
    return LocalBuild(region="eu-west-1", account=ACCOUNT)


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
    before, path_before = dict(os.environ), list(sys.path)
    built = build_locally(TEMPLATE, {"local_data": str(abalone_path)}, region="eu-west-1", account=ACCOUNT)
    definition, uploads = built.definition, built.uploads
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
    # The default role and bucket filled in; the environment and the import path are exactly what they were.
    assert definition["Steps"][0]["Arguments"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/showcase-local-execution"
    assert dict(os.environ) == before and sys.path == path_before


def test_any_other_aws_call_fails_in_one_line_naming_it(real_looking_aws: dict[str, str]) -> None:
    refused = r"AWS calls a local build cannot answer \(sagemaker:ListPipelines\)"
    with pytest.raises(UsageError, match=refused), offline_build("eu-west-1", answer_locally=local()):
        boto3.client("sagemaker").list_pipelines()
    assert os.environ["AWS_ACCESS_KEY_ID"] == real_looking_aws["AWS_ACCESS_KEY_ID"]


def test_a_refusal_the_sdk_handles_lets_the_build_go_on() -> None:
    """The refusal is AWS-shaped (a ClientError), so code that copes with AWS refusing a call copes here too."""
    from botocore.exceptions import ClientError

    build = local()
    with offline_build("eu-west-1", answer_locally=build):
        try:
            boto3.client("iam").list_roles()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "LocalBuildUnsupported"
    assert build.refused == ["iam:ListRoles"]


def test_a_large_upload_arrives_whole_through_multipart(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # above boto3's 8 MiB multipart threshold
    build = local()
    with offline_build("eu-west-1", answer_locally=build):
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


# A module that notes, when imported, the region it was given and whether its own directory was importable.
NOTING = """
import os, sys
SEEN = {"region": os.environ.get("AWS_DEFAULT_REGION"), "on_path": os.getcwd() in sys.path}


class Session:
    pending_uploads = {}


class Pipeline:
    name, sagemaker_session = "Noted", Session()

    def definition(self):
        return '{"Version": "2020-12-01", "Steps": []}'


def get_pipeline(region="us-east-1"):
    return Pipeline()
"""


@pytest.fixture()
def noting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a NOTING module in a project directory the command runs in, which is not on sys.path."""
    name = f"noting_{request.node.name}"
    (tmp_path / f"{name}.py").write_text(NOTING)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    yield name
    sys.modules.pop(name, None)


def process_wide() -> dict[str, Any]:
    """What the table of showcase.builder's docstring says a build changes, as far as it is undone."""
    from sagemaker.core.telemetry import telemetry_logging

    return {
        "environ": dict(os.environ),
        "environ class": type(os.environ),
        "sys.path": list(sys.path),
        "warnings": list(warnings.filters),
        "telemetry": telemetry_logging._send_telemetry_request,
        "create_client": botocore.session.Session.create_client,
    }


def test_a_cached_local_build_leaves_the_process_as_it_found_it(noting: str, tmp_path: Path) -> None:
    before = process_wide()
    cache = BuildCache(tmp_path / "home" / "definitions", FileDigests())
    built = cache.build({"module": noting}, lambda: build_locally(noting, {}, region="eu-west-1", account=ACCOUNT))
    assert built.pipeline_name == "Noted" and not built.cached
    assert sys.modules[noting].SEEN == {"region": "eu-west-1", "on_path": True}
    assert process_wide() == before


def test_publishing_builds_with_the_kwargs_region_and_puts_the_environment_back(noting: str) -> None:
    before = process_wide()
    assert build_for_publishing(noting, {"region": "ap-south-1"}).pipeline_name == "Noted"
    assert sys.modules[noting].SEEN == {"region": "ap-south-1", "on_path": True}
    assert process_wide() == before


def test_an_offline_block_inside_a_local_build_changes_nothing(real_looking_aws: dict[str, str]) -> None:
    """A pipeline module's own block (showcase.pipeline has one) inside the CLI's local build."""
    with offline_build("eu-west-1", answer_locally=local()):
        inside = process_wide()
        with offline_build("ap-south-1"):
            assert process_wide() == inside
        assert process_wide() == inside
        with (
            pytest.raises(RuntimeError, match="cannot start inside another build"),
            offline_build("eu-west-1", answer_locally=local()),
        ):
            pass
    assert os.environ["AWS_ACCESS_KEY_ID"] == real_looking_aws["AWS_ACCESS_KEY_ID"]
