"""The CloudWatch alarms the shipped endpoint template defines, resolved for one endpoint's parameters.

``deploy/endpoint-cloudformation.yml`` is the one definition of the alarms that roll a deployment back: a stack
of it creates them with PutMetricAlarm, and the local rollout (``serving.rollout_policy.policy_of_parameters``)
watches the same ones, read here from the template's ``AWS::CloudWatch::Alarm`` resources whose ``Condition``
holds, their properties resolved with the parameters as CloudFormation resolves them (the template's defaults
for what is not given, ``EndpointName`` the endpoint's name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from showcase.deployment.intrinsics import Scope, condition_scope, resolve, template_error
from showcase.deployment.template import load_template
from showcase.errors import UsageError
from showcase.files import read_user_text

SHIPPED_TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "endpoint-cloudformation.yml"
ALARM_TYPE = "AWS::CloudWatch::Alarm"


def template_alarms(
    parameters: Mapping[str, str], endpoint_name: str, source: str, template_path: Path = SHIPPED_TEMPLATE
) -> list[dict[str, Any]]:
    """The alarms the template creates for these parameters, as PutMetricAlarm requests, in template order."""
    template = load_template(read_user_text(template_path, "template"), str(template_path))
    declared = template.get("Parameters") or {}
    values = {name: _text(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    values.update(parameters)
    values["EndpointName"] = endpoint_name
    conditions = condition_scope(template, values, {})
    scope = Scope(values, {}, conditions.mappings, conditions.conditions, _alarms_alone)
    requests = []
    for logical, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if resource.get("Type") != ALARM_TYPE or (condition is not None and not conditions.conditions[condition]):
            continue
        request = resolve(resource.get("Properties") or {}, scope)
        request["Threshold"] = _threshold(request.get("Threshold"), f"{source}: alarm {logical} Threshold")
        requests.append(request)
    return requests


def _text(value: Any) -> str:
    """A parameter's value as CloudFormation hands it to a template: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _threshold(value: Any, what: str) -> float:
    """PutMetricAlarm's Threshold is a number (a Number parameter resolves to its text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise UsageError(f"{what} must be a number of at least 0, got {value!r}")
    return number


def _alarms_alone(logical: str, attribute: str | None) -> Any:
    raise template_error(f"an alarm of the endpoint template refers to the resource {logical!r}; locally an alarm "
                         "may refer only to parameters")  # fmt: skip
