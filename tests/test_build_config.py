"""The adjusted endpoint config: registry look-up (against moto), file handling, and the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from showcase.aws.registry import latest_approved_package
from showcase.cli.build_config import main
from showcase.deployment.config import adjusted_config, parse_endpoint_config
from showcase.errors import AwsError, NoApprovedPackage, NoSuchModelPackageGroup, UsageError
from tests.conftest import REGION, REPO, ROLE_ARN

GROUP = "crayonShowcasePackageGroup"
SCRIPT = REPO / "deploy" / "build_config_file.py"
SHIPPED_CONFIG = REPO / "deploy" / "endpoint_config.json"


def make_packages(statuses: list[str]) -> list[str]:
    """Create a group with one package version per status, oldest first; return their ARNs."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return [
        sagemaker.create_model_package(ModelPackageGroupName=GROUP, ModelApprovalStatus=status)["ModelPackageArn"]
        for status in statuses
    ]


# Approved packages are versions 1, 3, 5 and 6; the two newest packages are not Approved.
MIXED = [
    "Approved",
    "Rejected",
    "Approved",
    "PendingManualApproval",
    "Approved",
    "Approved",
    "Rejected",
    "PendingManualApproval",
]


class RecordingLister:
    """Wraps a real client and records each ``list_model_packages`` request."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: list[dict[str, Any]] = []

    def list_model_packages(self, **kwargs: Any) -> Mapping[str, Any]:
        self.requests.append(kwargs)
        return self.client.list_model_packages(**kwargs)  # type: ignore[no-any-return]


def test_newest_approved_package_is_found_across_pages(aws_env: dict[str, str]) -> None:
    arns = make_packages(MIXED)
    lister = RecordingLister(boto3.client("sagemaker", region_name=REGION))

    package = latest_approved_package(lister, GROUP, page_size=2)

    assert package["ModelPackageArn"] == arns[5]
    assert len(lister.requests) == 2, "four Approved packages in pages of two take two requests"
    first, second = lister.requests
    assert first == {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 2,
    }
    assert second["NextToken"]


def test_an_approval_changed_later_still_counts(aws_env: dict[str, str]) -> None:
    arns = make_packages(["Approved", "PendingManualApproval", "PendingManualApproval"])
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved")

    assert latest_approved_package(sagemaker, GROUP)["ModelPackageArn"] == arns[1]


def test_no_approved_package_raises(aws_env: dict[str, str]) -> None:
    make_packages(["Rejected", "PendingManualApproval"])
    with pytest.raises(NoApprovedPackage, match=f"{GROUP!r} has no Approved model package"):
        latest_approved_package(boto3.client("sagemaker", region_name=REGION), GROUP)


class UnsortedLister:
    """A registry that ignores SortOrder and the status filter, and pages by two."""

    def __init__(self, summaries: list[dict[str, Any]]) -> None:
        self.summaries = summaries

    def list_model_packages(self, **kwargs: Any) -> Mapping[str, Any]:
        start = int(kwargs.get("NextToken", 0))
        page: dict[str, Any] = {"ModelPackageSummaryList": self.summaries[start : start + 2]}
        if start + 2 < len(self.summaries):
            page["NextToken"] = str(start + 2)
        return page


def test_newest_is_picked_by_creation_time_whatever_the_order() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def summary(version: int, status: str, minutes: int) -> dict[str, Any]:
        return {
            "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:123456789012:model-package/g/{version}",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": status,
            "CreationTime": now + timedelta(minutes=minutes),
        }

    lister = UnsortedLister(
        [
            summary(1, "Approved", 0),
            summary(2, "Approved", 5),
            summary(4, "Rejected", 9),
            summary(3, "Approved", 5),
        ]
    )
    # Versions 2 and 3 share a CreationTime: the higher version wins; the newer rejected one never does.
    assert latest_approved_package(lister, "g")["ModelPackageVersion"] == 3


class RefusingLister:
    def list_model_packages(self, **kwargs: Any) -> Mapping[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListModelPackages")


def test_client_errors_become_aws_errors() -> None:
    with pytest.raises(AwsError, match=r"ListModelPackages for model package group 'g' failed: AccessDenied.*allowed"):
        latest_approved_package(RefusingLister(), "g")


def test_connection_errors_become_aws_errors(aws_env: dict[str, str]) -> None:
    # Port 9 (discard) on loopback: nothing listens, so botocore fails to connect.
    unreachable = boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(AwsError, match=r"ListModelPackages for model package group 'g' failed: Could not connect"):
        latest_approved_package(unreachable, "g")


def test_page_size_is_checked() -> None:
    with pytest.raises(UsageError, match="between 1 and 100, got 101"):
        latest_approved_package(UnsortedLister([]), "g", page_size=101)


# --- the config file ---------------------------------------------------------------------------------------


def test_adjusted_config_adds_decided_values_as_strings() -> None:
    raw = {"Parameters": {"EndpointInstanceCount": 2, "EnableDataCapture": False, "EndpointName": "old"}}
    config = adjusted_config(
        parse_endpoint_config(raw, "f.json"),
        model_package_arn="arn:pkg",
        model_execution_role_arn=ROLE_ARN,
        endpoint_name="new",
    )
    assert config.to_json() == {
        "Parameters": {
            "EndpointInstanceCount": "2",
            "EnableDataCapture": "false",
            "EndpointName": "new",
            "ModelPackageName": "arn:pkg",
            "ModelExecutionRoleArn": ROLE_ARN,
            "BaselineStatisticsUri": "",
            "BaselineConstraintsUri": "",
        },
        "Tags": [],
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], r'expected a JSON object with a "Parameters" object, got list'),
        ({"Tags": []}, r'expected a "Parameters" object .*, found nothing'),
        ({"Parameters": ["a"]}, r'expected a "Parameters" object .*, found list'),
        ({"Parameters": {"Bad-Name": "1"}}, r"'Bad-Name' is not a CloudFormation parameter name"),
        ({"Parameters": {"A": {"b": 1}}}, r"parameter 'A' must be a string, number or boolean, got dict"),
        ({"Parameters": {"A": "x\ny"}}, r"parameter 'A' holds a line break"),
        ({"Parameters": {}, "Tags": [{"Key": "k"}]}, r'"Tags" must be a list of'),
    ],
)
def test_malformed_configs_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_endpoint_config(raw, "f.json")


# --- the CLI, in process ---------------------------------------------------------------------------------


def cli_args(tmp_path: Path, config: Path) -> list[str]:
    return [
        "--model-execution-role",
        ROLE_ARN,
        "--model-package-group-name",
        GROUP,
        "--import-endpoint-config",
        str(config),
        "--export-endpoint-config",
        str(tmp_path / "adj.json"),
    ]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_refuses_a_config_without_parameters(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Approved"])
    config = write(tmp_path / "in.json", '{"Tags": []}')
    with pytest.raises(UsageError, match=r'in.json: expected a "Parameters" object'):
        main(cli_args(tmp_path, config))
    assert list(tmp_path.iterdir()) == [config], "no output file, and no temp file left behind"


def test_cli_refuses_malformed_json(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Approved"])
    config = write(tmp_path / "in.json", '{"Parameters": {')
    with pytest.raises(UsageError, match=r"endpoint config '.*in.json' is not valid JSON"):
        main(cli_args(tmp_path, config))
    assert list(tmp_path.iterdir()) == [config]


def test_cli_refuses_a_missing_config(aws_env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"endpoint config '.*nope.json' does not exist"):
        main(cli_args(tmp_path, tmp_path / "nope.json"))
    assert list(tmp_path.iterdir()) == []


def test_cli_without_approved_package_leaves_an_existing_output_alone(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Rejected"])
    config = write(tmp_path / "in.json", SHIPPED_CONFIG.read_text())
    previous = write(tmp_path / "adj.json", "previous run")
    with pytest.raises(NoApprovedPackage):
        main(cli_args(tmp_path, config))
    assert previous.read_text() == "previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adj.json", "in.json"]


# --- the real script, as the workflow runs it ---------------------------------------------------------------


def run_script(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_script_writes_the_adjusted_config(aws_env: dict[str, str], tmp_path: Path) -> None:
    arns = make_packages(MIXED)
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")

    result = run_script(
        ["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP, "--region", REGION],
        aws_env,
        tmp_path,
    )

    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "endpoint_config_adj.json").read_text())
    shipped = json.loads(SHIPPED_CONFIG.read_text())
    assert written == {
        "Parameters": {
            **shipped["Parameters"],
            "ModelPackageName": arns[5],
            "ModelExecutionRoleArn": ROLE_ARN,
            "EndpointName": "crayon-showcase-endpoint",
            "BaselineStatisticsUri": "",  # these packages were registered without a data-quality baseline
            "BaselineConstraintsUri": "",
        },
        "Tags": shipped.get("Tags", []),
    }
    assert all(isinstance(value, str) for value in written["Parameters"].values())


def baseline(prefix: str) -> dict[str, Any]:
    return {
        "ModelDataQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{prefix}/statistics.json"},
            "Constraints": {"ContentType": "application/json", "S3Uri": f"{prefix}/constraints.json"},
        }
    }


def test_the_baseline_comes_from_the_newest_approved_package(aws_env: dict[str, str], tmp_path: Path) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    for run, status in (("run1", "Approved"), ("run2", "Approved"), ("run3", "Rejected")):
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            ModelMetrics=baseline(f"s3://b/{run}/calculated"),
            DriftCheckBaselines=baseline(f"s3://b/{run}/drift"),
        )
    config = json.loads(SHIPPED_CONFIG.read_text())
    config["Parameters"]["EnableMonitoring"] = "true"
    (tmp_path / "endpoint_config.json").write_text(json.dumps(config))
    args = ["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP, "--region", REGION]

    result = run_script(args, aws_env, tmp_path)

    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "endpoint_config_adj.json").read_text())["Parameters"]
    # DriftCheckBaselines, the baseline meant for checking traffic, rather than ModelMetrics' calculated one.
    assert (written["BaselineStatisticsUri"], written["BaselineConstraintsUri"]) == (
        "s3://b/run2/drift/statistics.json",
        "s3://b/run2/drift/constraints.json",
    )
    assert written["EnableMonitoring"] == "true"


def test_monitoring_without_a_baseline_or_capture_is_refused(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Approved"])
    config = json.loads(SHIPPED_CONFIG.read_text())
    config["Parameters"]["EnableMonitoring"] = "true"
    (tmp_path / "endpoint_config.json").write_text(json.dumps(config))
    args = ["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP, "--region", REGION]

    result = run_script(args, aws_env, tmp_path)
    assert result.returncode == 2
    # One error line, after the INFO line that names the package found.
    *_, line = result.stderr.splitlines()
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1
    assert line.startswith("error: EnableMonitoring is true in endpoint_config.json but model package arn:")
    assert "has no data-quality baseline (DriftCheckBaselines.ModelDataQuality)" in line

    config["Parameters"]["EnableDataCapture"] = "false"
    (tmp_path / "endpoint_config.json").write_text(json.dumps(config))
    result = run_script(args, aws_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1:] == [
        "error: endpoint_config.json: EnableMonitoring is true but EnableDataCapture is not: the data-quality "
        "schedule reads the endpoint's captured requests; set EnableDataCapture to true, or EnableMonitoring to false"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoint_config.json"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (GitHub's runners have it)")
def test_written_config_feeds_parameter_overrides_through_jq(aws_env: dict[str, str], tmp_path: Path) -> None:
    arns = make_packages(["Approved"])
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")
    args = ["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP, "--endpoint-name", "ep"]
    assert run_script(args, aws_env, tmp_path).returncode == 0

    jq = subprocess.run(
        ["jq", "-r", '.Parameters | to_entries[] | "\\(.key)=\\(.value)"', "endpoint_config_adj.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = jq.stdout.splitlines()
    assert f"ModelPackageName={arns[0]}" in lines
    assert "EndpointName=ep" in lines
    assert "EnableDataCapture=true" in lines
    assert "BaselineStatisticsUri=" in lines  # empty: `deploy` takes Key= as an empty value
    assert len(lines) == 14  # the shipped config's 9, the package, role, endpoint name and baseline URIs


def test_script_without_approved_package_fails_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Rejected", "PendingManualApproval"])
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")

    result = run_script(["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP], aws_env, tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: model package group {GROUP!r} has no Approved model package; "
        "run the pipeline, or approve a package, then try again"
    ]
    assert not (tmp_path / "endpoint_config_adj.json").exists()


def test_script_with_malformed_json_fails_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "endpoint_config.json", "{not json")
    result = run_script(["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP], aws_env, tmp_path)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "is not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoint_config.json"]


def test_script_requires_the_role_flag(tmp_path: Path) -> None:
    result = run_script(["--model-package-group-name", GROUP], {}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "build_config_file.py: error: the following arguments are required: --model-execution-role (see --help)"
    ]


def test_the_local_registry_works_in_place_of_boto3(tmp_path: Path) -> None:
    from showcase.registry import Registry

    registry = Registry(tmp_path / "registry.db", region=REGION)
    arns = [
        registry.create_model_package(ModelPackageGroupName=GROUP, ModelApprovalStatus=status)["ModelPackageArn"]
        for status in MIXED
    ]
    assert latest_approved_package(registry, GROUP, page_size=2)["ModelPackageArn"] == arns[5]


def test_script_without_a_region_fails_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")
    env = {name: value for name, value in aws_env.items() if name not in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")

    result = run_script(["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP], env, tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: creating a sagemaker client: no AWS region; pass --region or set AWS_DEFAULT_REGION"
    ]


PARAMETER_VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text().filter(lambda text: "\n" not in text and "\r" not in text),
)


@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True), PARAMETER_VALUES))
def test_any_scalar_parameters_come_out_as_strings(parameters: dict[str, Any]) -> None:
    config = parse_endpoint_config({"Parameters": parameters}, "f.json")
    assert list(config.parameters) == list(parameters)
    for name, value in parameters.items():
        written = config.parameters[name]
        assert isinstance(written, str)
        # JSON's own spelling of the value (true, 2, 0.5): what jq prints for such scalars.
        assert written == (value if isinstance(value, str) else json.dumps(value))


# --- what a user walking the AWS path by hand can get wrong ----------------------------------------------------


def test_a_group_that_does_not_exist_is_named_as_such(aws_env: dict[str, str]) -> None:
    make_packages(["Approved"])
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with pytest.raises(NoSuchModelPackageGroup, match=r"model package group 'crayonShowcaseTypo' does not exist; "):
        latest_approved_package(sagemaker, "crayonShowcaseTypo")


def test_an_existing_group_without_packages_has_no_approved_package(aws_env: dict[str, str]) -> None:
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    with pytest.raises(NoApprovedPackage):
        latest_approved_package(boto3.client("sagemaker", region_name=REGION), GROUP)


def test_the_local_registry_names_a_missing_group_the_same_way(tmp_path: Path) -> None:
    from showcase.registry import Registry

    registry = Registry(tmp_path / "registry.db", region=REGION)
    registry.create_model_package(ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved")
    with pytest.raises(NoSuchModelPackageGroup, match=r"'crayonShowcaseTypo' does not exist; check the group"):
        latest_approved_package(registry, "crayonShowcaseTypo")


class DeniedDescribe(UnsortedLister):
    def describe_model_package_group(self, **kwargs: Any) -> Mapping[str, Any]:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "DescribeModelPackageGroup"
        )


def test_a_refused_group_look_up_is_not_taken_for_a_missing_group() -> None:
    with pytest.raises(AwsError, match=r"DescribeModelPackageGroup for model package group 'g' failed: AccessDenied"):
        latest_approved_package(DeniedDescribe([]), "g")


def test_script_with_a_missing_group_fails_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")
    result = run_script(["--model-execution-role", ROLE_ARN, "--model-package-group-name", "nope"], aws_env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: model package group 'nope' does not exist; "
        "check the group's name and region, or run the pipeline, which creates it"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoint_config.json"]


def test_script_with_a_config_that_is_not_utf8_fails_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    # Latin-1 "é" in a value, as an editor set to Windows-1252 saves it.
    (tmp_path / "endpoint_config.json").write_bytes(b'{"Parameters": {"EndpointInstanceType": "ml.m5.large\xe9"}}')
    result = run_script(["--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP], aws_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: endpoint config 'endpoint_config.json' is not UTF-8 text (byte 0xe9 at offset 52); save it as UTF-8"
    ]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"InstanceCount": "2"},
            r"in.json: 'InstanceCount' is not a parameter of endpoint-cloudformation.yml \(it declares "
            r"ModelExecutionRoleArn, ModelPackageName, EndpointName, EndpointInstanceCount, EndpointInstanceType, "
            r"DeploymentStrategy, CanarySizePercent, .*, MonitoringOutputS3Uri\); remove it or correct its name",
        ),
        ({"EnableMonitoring": "yes"}, r"in.json: EnableMonitoring 'yes' must be one of true, false"),
        (
            {"MonitoringScheduleExpression": "rate(1 hour)"},
            r"in.json: MonitoringScheduleExpression 'rate\(1 hour\)' must match the pattern",
        ),
        ({"EnableDataCapture": "yes"}, r"in.json: EnableDataCapture 'yes' must be one of true, false"),
        ({"SamplingPercentage": "150"}, r"in.json: SamplingPercentage '150' must be at most 100"),
        ({"EndpointInstanceCount": "two"}, r"in.json: EndpointInstanceCount 'two' must be a number"),
        ({"DataCaptureS3Uri": "bucket/prefix"}, r"in.json: DataCaptureS3Uri 'bucket/prefix' must match the pattern"),
    ],
)
def test_config_keys_and_values_the_template_would_refuse_are_refused_first(
    aws_env: dict[str, str], tmp_path: Path, parameters: dict[str, str], message: str
) -> None:
    config = write(tmp_path / "in.json", json.dumps({"Parameters": parameters}))
    with pytest.raises(UsageError, match=message):
        main(cli_args(tmp_path, config))
    assert list(tmp_path.iterdir()) == [config]


@pytest.mark.parametrize(
    "role",
    [
        "showcase-sagemaker-execution",  # a bare role name
        "arn:aws:iam::1234:role/showcase",  # a short account
        "arn:aws:iam::123456789012:user/someone",  # a user, not a role
    ],
)
def test_a_role_the_template_would_refuse_is_refused_before_asking_aws(tmp_path: Path, role: str) -> None:
    # No moto, no credentials: the flag is refused before any AWS call could be made.
    args = cli_args(tmp_path, SHIPPED_CONFIG)
    args[1] = role
    with pytest.raises(UsageError, match=rf"--model-execution-role: ModelExecutionRoleArn '{role}' must match"):
        main(args)
    assert list(tmp_path.iterdir()) == []


def test_every_shipped_config_value_fits_the_template(aws_env: dict[str, str], tmp_path: Path) -> None:
    make_packages(["Approved"])
    assert main(cli_args(tmp_path, SHIPPED_CONFIG)) == 0


def test_a_template_that_is_not_there_is_named(tmp_path: Path) -> None:
    args = [*cli_args(tmp_path, SHIPPED_CONFIG), "--template", str(tmp_path / "gone.yml")]
    with pytest.raises(UsageError, match=r"template '.*gone.yml' does not exist"):
        main(args)
