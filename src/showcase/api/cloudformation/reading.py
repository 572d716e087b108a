"""What a person reads of the local stacks: DescribeStacks, ListStacks, DescribeStackEvents, the stack's resources,
its template and GetTemplateSummary."""

from __future__ import annotations

from typing import Any

from showcase.api.cloudformation.handlers import find_change_set, read_template_url, stacks_of
from showcase.api.cloudformation.plans import invalid
from showcase.api.cloudformation.stacks import events, parse_time
from showcase.api.cloudformation.summary import summary
from showcase.api.listing import page, with_token
from showcase.api.state import Call, Handler

_STACK_VIEW = ("StackId", "StackName", "ChangeSetId", "Description", "Parameters", "StackStatus", "StackStatusReason",
               "DisableRollback", "NotificationARNs", "Capabilities", "Outputs", "Tags")  # fmt: skip
_TIMES = ("CreationTime", "LastUpdatedTime", "DeletionTime")


def _view(stack: dict[str, Any]) -> dict[str, Any]:
    view = {key: stack[key] for key in _STACK_VIEW if stack.get(key) is not None}
    view.update({key: parse_time(stack[key]) for key in _TIMES if stack.get(key)})
    description = (stack.get("Template") or {}).get("Description")
    if description:
        view["Description"] = description
    view.setdefault("DisableRollback", False)
    return {**view, "EnableTerminationProtection": False, "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"}}


def describe_stacks(call: Call) -> dict[str, Any]:
    stacks = stacks_of(call.state)
    name = call.params.get("StackName")
    chosen = [stacks.get(name)] if name else stacks.live()
    items, token = page(chosen, {"MaxResults": 100, "NextToken": call.params.get("NextToken")}, default=100)
    return with_token({"Stacks": [_view(stack) for stack in items]}, token)


def list_stacks(call: Call) -> dict[str, Any]:
    wanted = call.params.get("StackStatusFilter") or []
    keys = ("StackId", "StackName", "StackStatus", "StackStatusReason")
    summaries = [
        {**{key: stack[key] for key in keys if stack.get(key)},
         **{key: parse_time(stack[key]) for key in _TIMES if stack.get(key)}}
        for stack in stacks_of(call.state).every()
        if not wanted or stack["StackStatus"] in wanted
    ]  # fmt: skip
    return {"StackSummaries": summaries}


def describe_stack_events(call: Call) -> dict[str, Any]:
    stack = stacks_of(call.state).get(call.params["StackName"])
    found = list(events(stack))
    items, token = page(found, {"MaxResults": 100, "NextToken": call.params.get("NextToken")}, default=100)
    return with_token({"StackEvents": items}, token)


def _resources(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": record.get("PhysicalResourceId") or "",
            "ResourceType": record["Type"],
            "LastUpdatedTimestamp": parse_time(record["LastUpdatedTimestamp"]),
            "ResourceStatus": record["ResourceStatus"],
            **({"ResourceStatusReason": record["ResourceStatusReason"]} if record.get("ResourceStatusReason") else {}),
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        }
        for logical, record in (stack.get("Resources") or {}).items()
    ]


def list_stack_resources(call: Call) -> dict[str, Any]:
    return {"StackResourceSummaries": _resources(stacks_of(call.state).get(call.params["StackName"]))}


def describe_stack_resources(call: Call) -> dict[str, Any]:
    params = call.params
    if not params.get("StackName"):
        raise invalid("DescribeStackResources: give StackName (the local stacks are found by name)")
    stack = stacks_of(call.state).get(params["StackName"])
    found = []
    for resource in _resources(stack):
        if params.get("LogicalResourceId") not in (None, resource["LogicalResourceId"]):
            continue
        if params.get("PhysicalResourceId") not in (None, resource["PhysicalResourceId"]):
            continue
        timestamp = resource.pop("LastUpdatedTimestamp")
        found.append({**resource, "StackName": stack["StackName"], "StackId": stack["StackId"], "Timestamp": timestamp})
    return {"StackResources": found}


def get_template(call: Call) -> dict[str, Any]:
    stack = stacks_of(call.state).get(call.params["StackName"])
    if call.params.get("ChangeSetName"):
        _, record = find_change_set(call.state, call.params)
        return {"TemplateBody": record["TemplateBody"], "StagesAvailable": ["Original", "Processed"]}
    return {"TemplateBody": stack.get("TemplateBody") or "", "StagesAvailable": ["Original", "Processed"]}


def get_template_summary(call: Call) -> dict[str, Any]:
    params = call.params
    stack = stacks_of(call.state).get(params["StackName"]) if params.get("StackName") else None
    text = stack.get("TemplateBody") if stack else None
    if stack is None:
        text = params.get("TemplateBody") or (
            read_template_url(call.state, params["TemplateURL"]) if params.get("TemplateURL") else None
        )
    if not text:
        raise invalid("GetTemplateSummary: give StackName (of a deployed stack), TemplateBody or TemplateURL")
    return summary(str(text))


OPERATIONS: dict[str, Handler] = {
    "DescribeStacks": describe_stacks,
    "ListStacks": list_stacks,
    "DescribeStackEvents": describe_stack_events,
    "DescribeStackResources": describe_stack_resources,
    "ListStackResources": list_stack_resources,
    "GetTemplate": get_template,
    "GetTemplateSummary": get_template_summary,
}
