"""Did the deploy really land? Compare what CloudFormation says with what SageMaker serves.

``aws cloudformation deploy`` exits 0 for an empty change set, and an update that fails and rolls back
leaves the endpoint serving the previous config. Three checks catch both: the stack is in a completed,
non-rolled-back state; the endpoint serves the endpoint config the stack just made; it is InService.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from showcase.errors import DeploymentCheckFailed

HEALTHY_STACK_STATUSES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})


def stack_outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` of one stack from ``DescribeStacks``."""
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def verify_deployment(
    stack: Mapping[str, Any], endpoint: Mapping[str, Any], *, expected_endpoint_name: str | None = None
) -> str:
    """Raise DeploymentCheckFailed unless the endpoint serves the config the stack made; return that name.

    ``stack`` is one entry of ``DescribeStacks``' ``Stacks``; ``endpoint`` is ``DescribeEndpoint``'s response.
    """
    stack_name = str(stack.get("StackName", ""))
    endpoint_name = str(endpoint.get("EndpointName", ""))

    def fail(message: str) -> DeploymentCheckFailed:
        return DeploymentCheckFailed(message, stack_name=stack_name, endpoint_name=endpoint_name)

    status = stack.get("StackStatus", "")
    if status not in HEALTHY_STACK_STATUSES:
        raise fail(
            f"stack {stack_name!r} is {status}, expected one of {', '.join(sorted(HEALTHY_STACK_STATUSES))}; "
            "read its events with `aws cloudformation describe-stack-events`"
        )
    outputs = stack_outputs(stack)
    missing = [key for key in ("EndpointName", "EndpointConfigName") if key not in outputs]
    if missing:
        raise fail(f"stack {stack_name!r} has no output {', '.join(missing)}; was it deployed from this template?")
    if expected_endpoint_name is not None and outputs["EndpointName"] != expected_endpoint_name:
        raise fail(
            f"stack {stack_name!r} manages endpoint {outputs['EndpointName']!r}, expected {expected_endpoint_name!r}"
        )
    if endpoint_name != outputs["EndpointName"]:
        raise fail(f"described endpoint {endpoint_name!r}, but the stack manages {outputs['EndpointName']!r}")
    served = endpoint.get("EndpointConfigName")
    if served != outputs["EndpointConfigName"]:
        raise fail(
            f"endpoint {endpoint_name!r} serves endpoint config {served!r}, but stack {stack_name!r} made "
            f"{outputs['EndpointConfigName']!r}: the update did not take effect (rolled back?)"
        )
    endpoint_status = endpoint.get("EndpointStatus")
    if endpoint_status != "InService":
        reason = endpoint.get("FailureReason")
        raise fail(
            f"endpoint {endpoint_name!r} is {endpoint_status}, expected InService" + (f": {reason}" if reason else "")
        )
    return str(served)
