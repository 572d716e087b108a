"""The endpoint template resolved for one set of parameters, as CloudFormation would resolve it in a region."""

from __future__ import annotations

from typing import Any

from showcase.api.cloudformation.plans import parameter_values, pseudo_parameters
from showcase.api.cloudformation.resources import TYPES
from showcase.deployment.intrinsics import Scope, check_rules, condition_scope, resolve
from showcase.deployment.template import load_template
from tests.conftest import ACCOUNT, REGION, REPO, ROLE_ARN

TEMPLATE = REPO / "deploy" / "endpoint-cloudformation.yml"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/crayonshowcasepackagegroup"
REQUIRED = {
    "ModelExecutionRoleArn": ROLE_ARN,
    "ModelPackageName": f"{PACKAGE}/3",
    "EndpointName": "crayon-showcase-endpoint-staging",
    "BaselineStatisticsUri": "s3://b/run/data-quality-baseline/statistics.json",
    "BaselineConstraintsUri": "s3://b/run/data-quality-baseline/constraints.json",
}
# Each option of the template, as the parameters that turn it on.
OPTIONS: dict[str, dict[str, str]] = {
    "canary": {},
    "linear": {"DeploymentStrategy": "LINEAR", "LinearStepSizePercent": "25", "BakingPeriodSeconds": "120"},
    "all-at-once": {"DeploymentStrategy": "ALL_AT_ONCE"},
    "shadow": {"ShadowModelPackageName": f"{PACKAGE}/4"},
    "weights": {
        "ChallengerModelPackageName": f"{PACKAGE}/4",
        "PrimaryVariantWeight": "0.8",
        "ChallengerVariantWeight": "0.2",
    },
    "monitoring": {"EnableMonitoring": "true"},
    "model-quality": {"EnableModelQuality": "true", "GroundTruthS3Uri": "s3://b/ground-truth"},
    "no-capture": {"EnableDataCapture": "false"},
}


def template() -> dict[str, Any]:
    return load_template(TEMPLATE.read_text(), str(TEMPLATE))


def _attributes(names: dict[str, str]) -> Any:
    """What a made resource answers: its name (the template's, else a generated one) for ``Fn::GetAtt X.<name
    property>``, its ARN or its name for ``Ref``."""

    def attribute(logical: str, attribute: str | None) -> str:
        kind = TYPES[template()["Resources"][logical]["Type"]]
        name = names.get(logical) or f"{logical}-AbCdEf123456"
        if attribute == kind.name_property or (attribute is None and kind.ref_attribute == kind.name_property):
            return name
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{logical.lower()}/{name.lower()}"

    return attribute


def resolved(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``{logical id: {"Type", "Properties"}}`` of the resources the conditions keep, every function applied.

    The Rules are checked first (UsageError with the assertion's description when one fails)."""
    parsed = template()
    given = [{"ParameterKey": key, "ParameterValue": value} for key, value in {**REQUIRED, **parameters}.items()]
    values = parameter_values(parsed, given, None)
    pseudo = pseudo_parameters(REGION, ACCOUNT, "stack", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/s/1")
    conditions = condition_scope(parsed, values, pseudo)
    check_rules(parsed, conditions)
    names = {}
    for logical, resource in parsed["Resources"].items():
        given = (resource.get("Properties") or {}).get(TYPES[resource["Type"]].name_property)
        if given is not None:
            names[logical] = resolve(given, conditions)  # a name refers to parameters only
    scope = Scope(values, pseudo, parsed.get("Mappings") or {}, conditions.conditions, _attributes(names))
    kept = {}
    for logical, resource in parsed["Resources"].items():
        if "Condition" in resource and not conditions.conditions[resource["Condition"]]:
            continue
        properties = resolve(resource.get("Properties") or {}, scope)
        kept[logical] = {"Type": resource["Type"], "Properties": properties}
    return kept
