"""CloudFormation's operations that change stacks: change sets, and CreateStack, UpdateStack and DeleteStack, which
run the same change-set machinery.

What ``aws cloudformation deploy`` calls to change a stack (GetTemplateSummary and DescribeStacks are in
``reading``): CreateChangeSet, DescribeChangeSet, ExecuteChangeSet. Errors are CloudFormation's: ValidationError
with its wording (``Stack with id X does not exist``), ChangeSetNotFound, InvalidChangeSetStatus.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import urlparse

from showcase.api.cloudformation.engine import Operation
from showcase.api.cloudformation.plans import NO_CHANGES, Plan, invalid, is_empty, make_plan, pseudo_parameters
from showcase.api.cloudformation.providers import Context
from showcase.api.cloudformation.stacks import (
    CHANGE_SET_NAME,
    LOCK,
    STACK_TYPE,
    Stacks,
    add_event,
    check_name,
    does_not_exist,
    new_id,
    now,
    parse_time,
    running_here,
)
from showcase.api.errors import ApiError
from showcase.api.state import Call, Handler, State
from showcase.store import StoreError

UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"})


def stacks_of(state: State) -> Stacks:
    return Stacks(state.settings.home)


def _template_text(call: Call, stack: dict[str, Any] | None) -> str:
    params = call.params
    given = [key for key in ("TemplateBody", "TemplateURL", "UsePreviousTemplate") if params.get(key)]
    if len(given) != 1:
        raise invalid("Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate")
    if params.get("UsePreviousTemplate"):
        if stack is None or not stack.get("TemplateBody"):
            raise invalid("UsePreviousTemplate: the stack has no previous template")
        return str(stack["TemplateBody"])
    if params.get("TemplateBody"):
        return str(params["TemplateBody"])
    return read_template_url(call.state, params["TemplateURL"])


def read_template_url(state: State, url: str) -> str:
    """A template uploaded to S3 (the object store): path style (``.../bucket/key``, what ``aws cloudformation
    deploy`` passes) or virtual-hosted (``bucket.s3...amazonaws.com/key``)."""
    parsed = urlparse(url)
    parts = parsed.path.lstrip("/").split("/", 1)
    host = parsed.hostname or ""
    bucket, key = (host.split(".s3", 1)[0], parsed.path.lstrip("/")) if ".s3" in host else [*parts, ""][:2]
    try:
        return state.store.get_bytes(f"s3://{bucket}/{key}").decode("utf-8")
    except (StoreError, UnicodeDecodeError) as exc:
        raise invalid(f"TemplateURL must be a readable S3 object of this API: {url} ({exc})") from None


def _pseudo(state: State, name: str, stack_id: str) -> dict[str, Any]:
    return pseudo_parameters(state.settings.region, state.settings.account, name, stack_id)


def _not_updatable(stack: dict[str, Any]) -> ApiError:
    return invalid(f"Stack:{stack['StackId']} is in {stack['StackStatus']} state and can not be updated.")


# -- change sets -------------------------------------------------------------------------------------------------


def create_change_set(call: Call) -> dict[str, Any]:
    params, stacks = call.params, stacks_of(call.state)
    name, change_set = check_name(params["StackName"]), params["ChangeSetName"]
    if not CHANGE_SET_NAME.match(change_set):
        raise invalid(f"ChangeSetName {change_set!r} must match [a-zA-Z][-a-zA-Z0-9]* (at most 128 characters)")
    kind = params.get("ChangeSetType") or "UPDATE"
    if kind not in ("CREATE", "UPDATE"):
        raise invalid(f"ChangeSetType {kind}: the local CloudFormation creates and updates stacks, it imports none")
    with LOCK:
        stack = stacks.find(name)
        if kind == "CREATE" and stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            raise invalid(
                f"Stack [{name}] already exists and cannot be created again with the changeSet [{change_set}]."
            )
        if kind == "UPDATE" and (stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS"):
            raise does_not_exist(name)
        if kind == "UPDATE" and stack is not None and stack["StackStatus"] not in UPDATABLE:
            raise _not_updatable(stack)
        stack_id = (
            stack["StackId"]
            if stack
            else new_id("stack", name, call.state.settings.region, call.state.settings.account)
        )
        text = _template_text(call, stack)
        previous = stack if kind == "UPDATE" else None
        plan = make_plan(text, params.get("Parameters") or [], _pseudo(call.state, name, stack_id), previous)
        if stack is None:
            stack = _new_stack(name, stack_id)
        record = _change_set_record(call, stack_id, kind, text, plan, previous)
        stack.setdefault("ChangeSets", {})[change_set] = record
        stacks.save(stack)
    return {"Id": record["ChangeSetId"], "StackId": stack_id}


def _new_stack(name: str, stack_id: str) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackId": stack_id,
        "StackName": name,
        "StackStatus": "REVIEW_IN_PROGRESS",
        "StackStatusReason": "User Initiated",
        "CreationTime": now(),
        "Parameters": [],
        "Outputs": [],
        "Tags": [],
        "Resources": {},
        "Order": [],
        "ChangeSets": {},
    }
    add_event(stack, name, STACK_TYPE, stack_id, "REVIEW_IN_PROGRESS", "User Initiated")
    return stack


def _change_set_record(
    call: Call, stack_id: str, kind: str, text: str, plan: Plan, previous: dict[str, Any] | None
) -> dict[str, Any]:
    params = call.params
    tags = params.get("Tags") or []
    empty = is_empty(plan, previous, tags)
    return {
        "ChangeSetId": new_id(
            "changeSet", params["ChangeSetName"], call.state.settings.region, call.state.settings.account
        ),
        "ChangeSetName": params["ChangeSetName"],
        "StackId": stack_id,
        "ChangeSetType": kind,
        "Description": params.get("Description"),
        "Parameters": plan.parameters,
        "CreationTime": now(),
        "Status": "FAILED" if empty else "CREATE_COMPLETE",
        "StatusReason": NO_CHANGES if empty else None,
        "ExecutionStatus": "UNAVAILABLE" if empty else "AVAILABLE",
        "Capabilities": params.get("Capabilities") or [],
        "NotificationARNs": params.get("NotificationARNs") or [],
        "Tags": tags,
        "Changes": plan.changes,
        "TemplateBody": text,
    }


def find_change_set(state: State, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    wanted = params["ChangeSetName"]
    candidates = [stacks_of(state).get(params["StackName"])] if params.get("StackName") else stacks_of(state).live()
    for stack in candidates:
        for name, record in (stack.get("ChangeSets") or {}).items():
            if wanted in (name, record["ChangeSetId"]):
                return stack, record
    raise ApiError("ChangeSetNotFound", f"ChangeSet [{wanted}] does not exist", 404)


def describe_change_set(call: Call) -> dict[str, Any]:
    stack, record = find_change_set(call.state, call.params)
    described = {key: value for key, value in record.items() if key not in ("TemplateBody", "ChangeSetType")}
    described = {key: value for key, value in described.items() if value is not None}
    return {**described, "StackName": stack["StackName"], "CreationTime": parse_time(record["CreationTime"])}


def delete_change_set(call: Call) -> dict[str, Any]:
    with LOCK:
        stack, record = find_change_set(call.state, call.params)
        stacks_of(call.state).change(stack["StackName"], lambda s: s["ChangeSets"].pop(record["ChangeSetName"]))
    return {}


def list_change_sets(call: Call) -> dict[str, Any]:
    stack = stacks_of(call.state).get(call.params["StackName"])
    keys = ("StackId", "ChangeSetId", "ChangeSetName", "ExecutionStatus", "Status", "StatusReason", "Description")
    summaries = [
        {**{key: record[key] for key in keys if record.get(key) is not None},
         "StackName": stack["StackName"], "CreationTime": parse_time(record["CreationTime"])}
        for record in (stack.get("ChangeSets") or {}).values()
    ]  # fmt: skip
    return {"Summaries": summaries}


def execute_change_set(call: Call) -> dict[str, Any]:
    stacks = stacks_of(call.state)
    with LOCK:
        stack, record = find_change_set(call.state, call.params)
        if record["Status"] != "CREATE_COMPLETE" or record["ExecutionStatus"] != "AVAILABLE":
            raise ApiError(
                "InvalidChangeSetStatus",
                f"ChangeSet [{record['ChangeSetId']}] cannot be executed in its current execution status of "
                f"[{record['ExecutionStatus']}]",
            )
        creating = stack["StackStatus"] == "REVIEW_IN_PROGRESS"
        if not creating and stack["StackStatus"] not in UPDATABLE:
            raise _not_updatable(stack)
        given = [
            {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]} for p in record["Parameters"]
        ]
        pseudo = _pseudo(call.state, stack["StackName"], stack["StackId"])
        plan = make_plan(record["TemplateBody"], given, pseudo, None if creating else stack)
        _begin(stack, record, "CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS")
        stacks.save(stack)
    operation = Operation(
        Context(call.state, stack["StackName"]), stacks, plan, bool(call.params.get("DisableRollback"))
    )
    operation.start("create" if creating else "update")
    return {}


def _begin(stack: dict[str, Any], record: dict[str, Any], status: str) -> None:
    """The stack as the operation starts: its status, the change set's template and tags pending, no change sets
    left (CloudFormation removes a stack's change sets once one is executed)."""
    stack.update(
        StackStatus=status,
        StackStatusReason="User Initiated",
        ChangeSetId=record["ChangeSetId"],
        PendingTemplateBody=record["TemplateBody"],
        PendingTags=record["Tags"],
        Operation=running_here(),
        ChangeSets={},
    )
    if status == "UPDATE_IN_PROGRESS":
        stack["LastUpdatedTime"] = now()
    add_event(stack, stack["StackName"], STACK_TYPE, stack["StackId"], status, "User Initiated")


def delete_stack(call: Call) -> dict[str, Any]:
    stacks = stacks_of(call.state)
    with LOCK:
        stack = stacks.find(call.params["StackName"])
        if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
            return {}  # CloudFormation answers the deletion of no stack with success
        if stack["StackStatus"].endswith("_IN_PROGRESS") and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            raise invalid(f"Stack [{stack['StackName']}] is in {stack['StackStatus']} state and can not be deleted")
        stack.update(StackStatus="DELETE_IN_PROGRESS", StackStatusReason="User Initiated", Operation=running_here())
        stack["RetainResources"] = call.params.get("RetainResources") or []
        add_event(stack, stack["StackName"], STACK_TYPE, stack["StackId"], "DELETE_IN_PROGRESS", "User Initiated")
        stacks.save(stack)
    Operation(Context(call.state, stack["StackName"]), stacks, None).start("delete")
    return {}


def create_stack(call: Call) -> dict[str, Any]:
    """CreateStack: a CREATE change set, executed at once."""
    return _direct(call, "CREATE")


def update_stack(call: Call) -> dict[str, Any]:
    """UpdateStack: an UPDATE change set, executed at once; "No updates are to be performed." when it is empty."""
    return _direct(call, "UPDATE")


def _direct(call: Call, kind: str) -> dict[str, Any]:
    name = f"{kind.lower()}-stack-{uuid.uuid4().hex[:12]}"
    params = {**copy.deepcopy(call.params), "ChangeSetName": name, "ChangeSetType": kind}
    for key in (
        "DisableRollback",
        "OnFailure",
        "TimeoutInMinutes",
        "ClientRequestToken",
        "EnableTerminationProtection",
    ):
        params.pop(key, None)
    made = create_change_set(Call(call.state, call.service, "CreateChangeSet", params, call.headers, call.request_id))
    _, record = find_change_set(call.state, {"ChangeSetName": made["Id"], "StackName": params["StackName"]})
    if record["Status"] == "FAILED":
        delete_change_set(Call(call.state, call.service, "DeleteChangeSet", {"ChangeSetName": made["Id"],
                                "StackName": params["StackName"]}, call.headers, call.request_id))  # fmt: skip
        raise invalid("No updates are to be performed.")
    execute = {"ChangeSetName": made["Id"], "StackName": params["StackName"]}
    if call.params.get("DisableRollback") or call.params.get("OnFailure") == "DO_NOTHING":
        execute["DisableRollback"] = True
    execute_change_set(Call(call.state, call.service, "ExecuteChangeSet", execute, call.headers, call.request_id))
    return {"StackId": made["StackId"]}


OPERATIONS: dict[str, Handler] = {
    "CreateChangeSet": create_change_set,
    "DescribeChangeSet": describe_change_set,
    "DeleteChangeSet": delete_change_set,
    "ListChangeSets": list_change_sets,
    "ExecuteChangeSet": execute_change_set,
    "CreateStack": create_stack,
    "UpdateStack": update_stack,
    "DeleteStack": delete_stack,
}
