"""The endpoint template: cfn-lint, its parameters against the config files, and a deploy to moto.

moto's CloudFormation creates the SageMaker Model, EndpointConfig and Endpoint and reports the endpoint
InService at once; it runs no container, and it ignores the Endpoint's ``EndpointName`` property (the
endpoint gets a generated name), so the tests read the name from the stack output, as the check does.

Where moto stops: its CloudFormation has no AWS::CloudWatch::Alarm, AWS::SageMaker::DataQualityJobDefinition,
ModelQualityJobDefinition or MonitoringSchedule (it skips them with a UserWarning, "Tried to parse ...", which the
suite's warnings-as-errors would turn into a 500 of moto's server: the module ignores that one warning, and
the stack still completes), it keeps no ShadowProductionVariants, it ignores the Endpoint's DeploymentConfig,
and it does not drop ``Ref: AWS::NoValue`` from a list (so the template chooses between whole lists). Its
SageMaker API has CreateDataQualityJobDefinition but no CreateMonitoringSchedule. So the monitoring resources'
properties, resolved from the deployed stack, are sent to moto's CreateDataQualityJobDefinition (botocore
validates them against the API model, and moto keeps them) and the schedule's are validated by botocore
against CreateMonitoringSchedule's input shape; no schedule runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import validate_parameters
from cfnlint.decode import decode

from showcase.deployment.check import DeploymentCheckFailed, verify_deployment
from showcase.deployment.config import adjusted_config, parse_endpoint_config
from tests.conftest import ACCOUNT, REGION, REPO, ROLE_ARN

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")

TEMPLATE = REPO / "deploy" / "endpoint-cloudformation.yml"
CONFIG = REPO / "deploy" / "endpoint_config.json"
# cfn-lint has no `python -m` entry point; its script sits beside the interpreter in the venv.
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CHECK_SCRIPT = REPO / "deploy" / "check_endpoint.py"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/crayonshowcasepackagegroup/3"


def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert parsed is not None
    return dict(parsed)


def shipped_adjusted_parameters() -> dict[str, str]:
    config = parse_endpoint_config(json.loads(CONFIG.read_text()), str(CONFIG))
    adjusted = adjusted_config(
        config, model_package_arn=PACKAGE_ARN, model_execution_role_arn=ROLE_ARN, endpoint_name="ep"
    )
    return adjusted.parameters


def test_cfn_lint_reports_nothing() -> None:
    result = subprocess.run([str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_cfn_lint_does_report_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(TEMPLATE.read_text().replace("InstanceType: !Ref", "InstanceTypo: !Ref"))
    result = subprocess.run([str(CFN_LINT), str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "InstanceTypo" in result.stdout


def test_every_config_key_names_a_template_parameter() -> None:
    parameters = set(template()["Parameters"])
    shipped = set(json.loads(CONFIG.read_text())["Parameters"])
    assert shipped <= parameters, shipped - parameters
    written = set(shipped_adjusted_parameters())
    assert written <= parameters, written - parameters
    # Everything the template cannot default must be written by the config builder.
    required = {name for name, spec in template()["Parameters"].items() if "Default" not in spec}
    assert required <= written, required - written


def test_data_capture_follows_the_switch() -> None:
    parsed = template()
    assert parsed["Parameters"]["EnableDataCapture"]["AllowedValues"] == ["true", "false"]
    sampling = parsed["Parameters"]["SamplingPercentage"]
    assert (sampling["MinValue"], sampling["MaxValue"]) == (0, 100)
    capture = parsed["Resources"]["EndpointConfig"]["Properties"]["DataCaptureConfig"]
    condition, enabled, disabled = capture["Fn::If"]
    assert condition == "DataCaptureEnabled"
    assert disabled == {"Ref": "AWS::NoValue"}
    assert [option["CaptureMode"] for option in enabled["CaptureOptions"]] == ["Input", "Output"]
    assert enabled["InitialSamplingPercentage"] == {"Ref": "SamplingPercentage"}


# --- deployed to moto -------------------------------------------------------------------------------------


def create_stack(name: str, parameters: dict[str, str]) -> dict[str, Any]:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    stack: dict[str, Any] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def test_template_deploys_an_endpoint_with_data_capture(aws_env: dict[str, str]) -> None:
    stack = create_stack("endpoint", shipped_adjusted_parameters())
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    endpoint = sagemaker.describe_endpoint(EndpointName=outputs(stack)["EndpointName"])
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == outputs(stack)["EndpointConfigName"]

    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.m5.large",
        1,
    )
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["DestinationS3Uri"] == f"s3://sagemaker-{REGION}-{ACCOUNT}/datacapture"

    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["ExecutionRoleArn"] == ROLE_ARN
    assert model["PrimaryContainer"]["ModelPackageName"] == PACKAGE_ARN


def test_data_capture_can_be_switched_off_or_redirected(aws_env: dict[str, str]) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    off = create_stack("off", {**shipped_adjusted_parameters(), "EnableDataCapture": "false"})
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs(off)["EndpointConfigName"])
    assert not config.get("DataCaptureConfig")

    elsewhere = create_stack("elsewhere", {**shipped_adjusted_parameters(), "DataCaptureS3Uri": "s3://b/capture"})
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs(elsewhere)["EndpointConfigName"])
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == "s3://b/capture"


def test_a_challenger_variant_takes_its_weight(aws_env: dict[str, str]) -> None:
    challenger = PACKAGE_ARN.replace("/3", "/4")
    parameters = {
        **shipped_adjusted_parameters(),
        "ChallengerModelPackageName": challenger,
        "PrimaryVariantWeight": "0.75",
        "ChallengerVariantWeight": "0.25",
    }
    stack = create_stack("weighted", parameters)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs(stack)["EndpointConfigName"])
    weights = {v["VariantName"]: v["InitialVariantWeight"] for v in config["ProductionVariants"]}
    assert weights == {"AllTraffic": 0.75, "Challenger": 0.25}
    packages = {
        v["VariantName"]: sagemaker.describe_model(ModelName=v["ModelName"])["PrimaryContainer"]["ModelPackageName"]
        for v in config["ProductionVariants"]
    }
    assert packages == {"AllTraffic": PACKAGE_ARN, "Challenger": challenger}


# --- the post-deploy check ----------------------------------------------------------------------------------


def run_check(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_check_passes_on_a_fresh_deploy(aws_env: dict[str, str]) -> None:
    stack = create_stack("endpoint", shipped_adjusted_parameters())
    result = run_check(["--stack-name", "endpoint"], aws_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"endpoint {outputs(stack)['EndpointName']} is InService "
        f"with endpoint config {outputs(stack)['EndpointConfigName']}\n"
    )


def test_check_fails_when_the_endpoint_serves_another_config(aws_env: dict[str, str]) -> None:
    """A rolled-back update, seen from outside: the endpoint serves a config the stack did not make."""
    stack = create_stack("endpoint", shipped_adjusted_parameters())
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    name = outputs(stack)["EndpointName"]
    previous = sagemaker.describe_endpoint_config(EndpointConfigName=outputs(stack)["EndpointConfigName"])
    sagemaker.create_endpoint_config(EndpointConfigName="previous", ProductionVariants=previous["ProductionVariants"])
    # moto has no UpdateEndpoint: put the endpoint back on the old config by re-creating it.
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="previous")

    result = run_check(["--stack-name", "endpoint", "--endpoint-name", name], aws_env)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: endpoint {name!r} serves endpoint config 'previous', but stack 'endpoint' made "
        f"{outputs(stack)['EndpointConfigName']!r}: the update did not take effect (rolled back?)"
    ]


def test_check_fails_for_a_missing_stack(aws_env: dict[str, str]) -> None:
    result = run_check(["--stack-name", "nope"], aws_env)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: DescribeStacks for stack 'nope' failed: ValidationError")


HEALTHY_STACK = {
    "StackName": "s",
    "StackStatus": "UPDATE_COMPLETE",
    "Outputs": [
        {"OutputKey": "EndpointName", "OutputValue": "ep"},
        {"OutputKey": "EndpointConfigName", "OutputValue": "cfg-2"},
    ],
}
HEALTHY_ENDPOINT = {"EndpointName": "ep", "EndpointConfigName": "cfg-2", "EndpointStatus": "InService"}


def test_a_healthy_deployment_passes() -> None:
    assert verify_deployment(HEALTHY_STACK, HEALTHY_ENDPOINT, expected_endpoint_name="ep") == "cfg-2"


@pytest.mark.parametrize(
    ("stack", "endpoint", "message"),
    [
        (
            {**HEALTHY_STACK, "StackStatus": "UPDATE_ROLLBACK_COMPLETE"},
            HEALTHY_ENDPOINT,
            "is UPDATE_ROLLBACK_COMPLETE",
        ),
        (
            {**HEALTHY_STACK, "Outputs": []},
            HEALTHY_ENDPOINT,
            "has no output EndpointName, EndpointConfigName",
        ),
        (
            HEALTHY_STACK,
            {**HEALTHY_ENDPOINT, "EndpointConfigName": "cfg-1"},
            "serves endpoint config 'cfg-1'",
        ),
        (
            HEALTHY_STACK,
            {**HEALTHY_ENDPOINT, "EndpointStatus": "Failed", "FailureReason": "image pull"},
            "is Failed, expected InService: image pull",
        ),
        (HEALTHY_STACK, {**HEALTHY_ENDPOINT, "EndpointName": "other"}, "described endpoint 'other'"),
    ],
)
def test_unhealthy_deployments_fail(stack: dict[str, Any], endpoint: dict[str, Any], message: str) -> None:
    with pytest.raises(DeploymentCheckFailed, match=message):
        verify_deployment(stack, endpoint)


def test_the_stack_must_manage_the_expected_endpoint() -> None:
    with pytest.raises(DeploymentCheckFailed, match="manages endpoint 'ep', expected 'crayon'"):
        verify_deployment(HEALTHY_STACK, HEALTHY_ENDPOINT, expected_endpoint_name="crayon")


# --- monitoring: the data-quality schedule over the captures -------------------------------------------------


def monitoring_parameters() -> dict[str, str]:
    return {
        **shipped_adjusted_parameters(),
        "EnableMonitoring": "true",
        "BaselineStatisticsUri": "s3://b/run/data-quality-baseline/statistics.json",
        "BaselineConstraintsUri": "s3://b/run/data-quality-baseline/constraints.json",
    }


def resolve(value: Any, parameters: dict[str, str], attributes: dict[str, str], mappings: dict[str, Any]) -> Any:
    """The intrinsic functions the monitoring resources use, resolved as CloudFormation would in REGION."""
    pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
    known = {**pseudo, **parameters, **attributes}
    if isinstance(value, list):
        return [resolve(item, parameters, attributes, mappings) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return known[value["Ref"]]
    if "Fn::GetAtt" in value:
        return attributes[".".join(value["Fn::GetAtt"])]
    if "Fn::FindInMap" in value:
        name, first, second = (resolve(v, parameters, attributes, mappings) for v in value["Fn::FindInMap"])
        return mappings[name][first][second]
    if "Fn::If" in value:
        condition, yes, no = value["Fn::If"]
        assert condition == "MonitoringOutputS3UriGiven"
        return resolve(yes if parameters.get("MonitoringOutputS3Uri") else no, parameters, attributes, mappings)
    if "Fn::Sub" in value:
        text, names = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        local = {k: resolve(v, parameters, attributes, mappings) for k, v in names.items()}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str({**known, **local}[m.group(1)]), text)
    return {key: resolve(item, parameters, attributes, mappings) for key, item in value.items()}


def test_the_analyzer_image_accounts_are_the_sdks() -> None:
    from sagemaker.core import image_uris

    mapping = template()["Mappings"]["ModelMonitorAnalyzer"]
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"):
        uri = image_uris.retrieve(framework="model-monitor", region=region)
        assert uri.split(".", 1)[0] == mapping[region]["Account"], region
    config = json.loads((Path(image_uris.__file__).parent / "image_uri_config" / "model-monitor.json").read_text())
    assert {r: {"Account": a} for r, a in config["versions"][""]["registries"].items()} == mapping


def test_monitoring_follows_its_switch_and_needs_capture() -> None:
    parsed = template()
    assert parsed["Parameters"]["EnableMonitoring"]["Default"] == "false"
    assert parsed["Conditions"]["MonitoringEnabled"] == {
        "Fn::And": [{"Fn::Equals": [{"Ref": "EnableMonitoring"}, "true"]}, {"Condition": "DataCaptureEnabled"}]
    }
    for name in ("DataQualityJobDefinition", "MonitoringSchedule"):
        assert parsed["Resources"][name]["Condition"] == "MonitoringEnabled"
    schedule = parsed["Resources"]["MonitoringSchedule"]["Properties"]["MonitoringScheduleConfig"]
    assert schedule["ScheduleConfig"] == {"ScheduleExpression": {"Ref": "MonitoringScheduleExpression"}}
    assert schedule["MonitoringType"] == "DataQuality"


def test_the_template_deploys_with_monitoring_as_far_as_moto_allows(aws_env: dict[str, str]) -> None:
    parameters = monitoring_parameters()
    stack = create_stack("monitored", parameters)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    created = {r["LogicalResourceId"] for r in cloudformation.list_stack_resources(StackName="monitored")[
        "StackResourceSummaries"]}  # fmt: skip
    # moto makes the endpoint; it has no CloudFormation model of the two monitoring resources.
    assert {"Model", "EndpointConfig", "Endpoint"} <= created
    assert not {"DataQualityJobDefinition", "MonitoringSchedule"} & created

    parsed = template()
    defaults = {name: str(spec["Default"]) for name, spec in parsed["Parameters"].items() if "Default" in spec}
    parameters = {**defaults, **parameters}
    endpoint_name = outputs(stack)["EndpointName"]
    attributes = {"Endpoint.EndpointName": endpoint_name, "DataQualityJobDefinition.JobDefinitionName": "dq-job"}
    definition = resolve(
        parsed["Resources"]["DataQualityJobDefinition"]["Properties"], parameters, attributes, parsed["Mappings"]
    )
    from sagemaker.core import image_uris

    assert definition["DataQualityAppSpecification"]["ImageUri"] == image_uris.retrieve("model-monitor", REGION)
    assert definition["DataQualityBaselineConfig"]["ConstraintsResource"] == {
        "S3Uri": "s3://b/run/data-quality-baseline/constraints.json"
    }
    assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == endpoint_name
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    arn = sagemaker.create_data_quality_job_definition(JobDefinitionName="dq-job", **definition)["JobDefinitionArn"]
    described = sagemaker.describe_data_quality_job_definition(JobDefinitionName="dq-job")
    assert described["JobDefinitionArn"] == arn
    assert described["DataQualityJobInput"]["EndpointInput"]["LocalPath"] == "/opt/ml/processing/input/endpoint"

    schedule = resolve(
        parsed["Resources"]["MonitoringSchedule"]["Properties"], parameters, attributes, parsed["Mappings"]
    )
    schedule.pop("EndpointName")  # a CloudFormation-only property: the job definition names the endpoint
    shape = sagemaker.meta.service_model.operation_model("CreateMonitoringSchedule").input_shape
    validate_parameters(schedule, shape)  # raises on any property the API would refuse
    assert schedule["MonitoringScheduleName"] == "ep-data-quality"
    assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"


def test_without_capture_there_is_no_monitoring(aws_env: dict[str, str]) -> None:
    stack = create_stack("uncaptured", {**monitoring_parameters(), "EnableDataCapture": "false"})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert "MonitoringScheduleName" not in outputs(stack)
