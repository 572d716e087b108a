"""The endpoint config file: read the user's, add what the registry decided, write the adjusted one.

The adjusted file feeds ``aws cloudformation deploy --parameter-overrides`` through
``jq -r '.Parameters | to_entries[] | "\\(.key)=\\(.value)"'``, so every parameter value is written as a
string and every parameter name must name a parameter of ``deploy/endpoint-cloudformation.yml``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from showcase.errors import UsageError

DEFAULT_ENDPOINT_NAME = "crayon-showcase-endpoint"

# CloudFormation parameter names are alphanumeric.
_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9]+$")


@dataclass(frozen=True)
class EndpointConfig:
    """The ``{"Parameters": {...}, "Tags": [...]}`` file, with every parameter value a string."""

    parameters: dict[str, str]
    tags: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"Parameters": dict(self.parameters), "Tags": [dict(tag) for tag in self.tags]}


def _as_parameter_value(name: str, value: Any, source: str) -> str:
    """A CloudFormation parameter value is a string; JSON scalars are written the way jq would print them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise UsageError(f"{source}: parameter {name!r} holds a line break; give a one-line value")
        return value
    raise UsageError(f"{source}: parameter {name!r} must be a string, number or boolean, got {type(value).__name__}")


def _parse_tags(raw: Any, source: str) -> list[dict[str, str]]:
    if raw is None:
        return []
    ok = isinstance(raw, list) and all(
        isinstance(tag, dict) and set(tag) == {"Key", "Value"} and all(isinstance(v, str) for v in tag.values())
        for tag in raw
    )
    if not ok:
        raise UsageError(f'{source}: "Tags" must be a list of {{"Key": "...", "Value": "..."}} objects')
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in raw]


def parse_endpoint_config(raw: Any, source: str) -> EndpointConfig:
    """Check the shape of a loaded endpoint config file; ``source`` names it in error messages."""
    if not isinstance(raw, dict):
        raise UsageError(f'{source}: expected a JSON object with a "Parameters" object, got {type(raw).__name__}')
    parameters = raw.get("Parameters")
    if not isinstance(parameters, dict):
        found = "nothing" if parameters is None else type(parameters).__name__
        raise UsageError(
            f'{source}: expected a "Parameters" object mapping template parameter names to values, found {found}'
        )
    checked: dict[str, str] = {}
    for name, value in parameters.items():
        if not _PARAMETER_NAME.match(name):
            raise UsageError(f"{source}: {name!r} is not a CloudFormation parameter name (letters and digits)")
        checked[name] = _as_parameter_value(name, value, source)
    return EndpointConfig(parameters=checked, tags=_parse_tags(raw.get("Tags"), source))


def adjusted_config(
    config: EndpointConfig,
    *,
    model_package_arn: str,
    model_execution_role_arn: str,
    endpoint_name: str,
    baseline: tuple[str, str] | None = None,
) -> EndpointConfig:
    """The config to deploy: the user's parameters plus the model package, role, endpoint name and the
    package's data-quality baseline (``(statistics, constraints)`` URIs; empty strings when it has none).

    The given values win over the same keys in the user's file: they are what this run decided.
    """
    statistics, constraints = baseline or ("", "")
    decided: Mapping[str, str] = {
        "ModelPackageName": model_package_arn,
        "ModelExecutionRoleArn": model_execution_role_arn,
        "EndpointName": endpoint_name,
        "BaselineStatisticsUri": statistics,
        "BaselineConstraintsUri": constraints,
    }
    return EndpointConfig(parameters={**config.parameters, **decided}, tags=list(config.tags))


def check_monitoring(config: EndpointConfig, source: str) -> None:
    """EnableMonitoring "true" needs data capture (the schedule reads the captures) and a baseline."""
    parameters = config.parameters
    if parameters.get("EnableMonitoring", "false") != "true":
        return
    if parameters.get("EnableDataCapture", "true") != "true":
        raise UsageError(
            f"{source}: EnableMonitoring is true but EnableDataCapture is not: the data-quality schedule "
            "reads the endpoint's captured requests; set EnableDataCapture to true, or EnableMonitoring to false"
        )
    if not parameters.get("BaselineStatisticsUri") or not parameters.get("BaselineConstraintsUri"):
        raise UsageError(
            f"EnableMonitoring is true in {source} but model package {parameters.get('ModelPackageName')} "
            "has no data-quality baseline (DriftCheckBaselines.ModelDataQuality): deploy a package the "
            "pipeline's DataQualityBaseline step registered, or set EnableMonitoring to false"
        )
