"""What UpdateEndpoint's DeploymentConfig means, checked before anything changes.

    BlueGreenUpdatePolicy
      TrafficRoutingConfiguration   Type ALL_AT_ONCE (all traffic, then one baking period) | CANARY (CanarySize,
                                    baked, then the rest, baked) | LINEAR (LinearStepSize at a time, each baked);
                                    WaitIntervalInSeconds: the baking period
      TerminationWaitInSeconds      the old fleet is kept this long after all traffic moved, alarms still watched
      MaximumExecutionTimeoutInSeconds   a deployment that runs longer rolls back
    AutoRollbackConfiguration       Alarms: the alarms (``alarms.Alarm``, their PutMetricAlarm requests given
                                    beside) that roll the deployment back when one is in ALARM

``policy_of`` checks a DeploymentConfig as SageMaker bounds it; ``policy_of_parameters`` makes the one the endpoint
template makes of its parameters, with the alarms the template itself defines (``deployment.template_alarms``).
``showcase.serving.rollout`` runs a policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from showcase.deployment.template_alarms import template_alarms
from showcase.errors import UsageError
from showcase.serving.alarms import Alarm

ROUTING_TYPES = ("ALL_AT_ONCE", "CANARY", "LINEAR")
DEFAULT_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Policy:
    """A checked DeploymentConfig with its alarms."""

    routing: str
    wait_s: int
    shares: tuple[float, ...]
    termination_wait_s: int
    max_execution_s: int
    alarms: tuple[Alarm, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    """The DeploymentConfig as given (DescribeEndpoint's LastDeploymentConfig)."""


def _bounded(value: Any, low: int, high: int, what: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high or value != int(value):
        raise UsageError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _capacity(size: Any, what: str, instance_count: int, low: float, high: float) -> float:
    """A CapacitySize as a share of the fleet: CAPACITY_PERCENT / 100, or INSTANCE_COUNT / instances."""
    if not isinstance(size, Mapping) or size.get("Type") not in ("INSTANCE_COUNT", "CAPACITY_PERCENT"):
        raise UsageError(f"{what} must be {{Type: INSTANCE_COUNT | CAPACITY_PERCENT, Value: n}}, got {size!r}")
    value = _bounded(size.get("Value"), 1, 10**6, f"{what}.Value")
    share = value / 100.0 if size["Type"] == "CAPACITY_PERCENT" else value / instance_count
    if not low <= share <= high:
        raise UsageError(
            f"{what} {size['Type']} {value} is {share:.0%} of the fleet ({instance_count} instance(s)); "
            f"it must be from {low:.0%} to {high:.0%}"
        )
    return share


def shares_of(routing: str, canary: float | None, step: float | None) -> tuple[float, ...]:
    """The new fleet's share of traffic after each step."""
    if routing == "CANARY" and canary is not None:
        return (canary, 1.0)
    if routing == "LINEAR" and step is not None:
        count = math.ceil(1.0 / step - 1e-9)
        return tuple(min(1.0, round(step * n, 6)) for n in range(1, count + 1))
    return (1.0,)


def policy_of(
    config: Mapping[str, Any],
    alarm_requests: Sequence[Mapping[str, Any]],
    *,
    endpoint_name: str,
    instance_count: int = 1,
    source: str = "DeploymentConfig",
) -> Policy:
    """Check an UpdateEndpoint DeploymentConfig and the alarms it names; every problem is refused before a change."""
    if config.get("RollingUpdatePolicy"):
        raise UsageError(
            f"{source}.RollingUpdatePolicy: the local endpoint has no instances to update in batches; give a "
            "BlueGreenUpdatePolicy"
        )
    blue_green = config.get("BlueGreenUpdatePolicy")
    if not isinstance(blue_green, Mapping):
        raise UsageError(f"{source} has no BlueGreenUpdatePolicy")
    where = f"{source}.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"
    routing = blue_green.get("TrafficRoutingConfiguration")
    if not isinstance(routing, Mapping) or routing.get("Type") not in ROUTING_TYPES:
        raise UsageError(f"{where}.Type must be one of {', '.join(ROUTING_TYPES)}")
    kind = str(routing["Type"])
    wait = _bounded(routing.get("WaitIntervalInSeconds"), 0, 3600, f"{where}.WaitIntervalInSeconds")
    canary = (
        _capacity(routing.get("CanarySize"), f"{where}.CanarySize", instance_count, 0.0, 0.5)
        if kind == "CANARY"
        else None
    )
    step = (
        _capacity(routing.get("LinearStepSize"), f"{where}.LinearStepSize", instance_count, 0.1, 0.5)
        if kind == "LINEAR"
        else None
    )
    termination = _bounded(
        blue_green.get("TerminationWaitInSeconds"),
        0,
        3600,
        f"{source}.BlueGreenUpdatePolicy.TerminationWaitInSeconds",
        0,
    )
    timeout = _bounded(
        blue_green.get("MaximumExecutionTimeoutInSeconds"),
        600,
        28800,
        f"{source}.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds",
        DEFAULT_TIMEOUT_S,
    )
    names = [entry.get("AlarmName") for entry in (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    if len(names) > 10:
        raise UsageError(f"{source}.AutoRollbackConfiguration.Alarms: at most 10 alarms, got {len(names)}")
    defined = {str(request.get("AlarmName")): request for request in alarm_requests}
    missing = [name for name in names if name not in defined]
    if missing:
        raise UsageError(
            f"{source}.AutoRollbackConfiguration names alarm(s) {', '.join(map(repr, missing))} that no alarm "
            f"definition gives (there are {', '.join(defined) or 'none'})"
        )
    checked = tuple(Alarm.from_request(defined[str(name)], endpoint_name) for name in names)
    shares = shares_of(kind, canary, step)
    return Policy(kind, wait, shares, termination, timeout, checked, dict(config))


def policy_of_parameters(parameters: Mapping[str, str], endpoint_name: str, source: str) -> Policy | None:
    """The DeploymentConfig and alarms the endpoint template makes of these parameters; None without a
    DeploymentStrategy (an update is then the hot swap)."""
    kind = parameters.get("DeploymentStrategy")
    if not kind:
        return None
    if kind not in ROUTING_TYPES:
        raise UsageError(f"{source}: DeploymentStrategy must be one of {', '.join(ROUTING_TYPES)}, got {kind!r}")

    def number(name: str, default: str) -> int:
        text = parameters.get(name, default)
        if not text.isdigit():
            raise UsageError(f"{source}: {name} must be a whole number, got {text!r}")
        return int(text)

    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": number("BakingPeriodSeconds", "300")}
    if kind == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": number("CanarySizePercent", "10")}
    if kind == "LINEAR":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": number("LinearStepSizePercent", "20")}
    requests = template_alarms(parameters, endpoint_name, source)
    config = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": number("TerminationWaitSeconds", "0"),
            "MaximumExecutionTimeoutInSeconds": number("DeploymentTimeoutSeconds", str(DEFAULT_TIMEOUT_S)),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": request["AlarmName"]} for request in requests]},
    }
    instances = number("EndpointInstanceCount", "1")
    return policy_of(config, requests, endpoint_name=endpoint_name, instance_count=max(instances, 1), source=source)
