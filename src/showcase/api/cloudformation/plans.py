"""A change set's plan: the template read and checked, the parameters' values, the conditions, the resources in
the order they are made, and the changes from what the stack has now.

Everything a template can get wrong is found here, before anything is made, and answered as CloudFormation's
CreateChangeSet answers it (ValidationError): an unknown or missing parameter, a value its constraints refuse, a
Rules assertion, an undeclared condition, a reference to no resource, a circle of dependencies, a resource
type the local CloudFormation does not make, a function it does not know.

A change is judged from each resource's properties resolved with the other resources' values still unknown
(``{{Logical.Attribute}}``, CloudFormation's "known after apply"): Add, Remove, or Modify with Replacement True
when a create-only property changes (the resource types' own lists, ``resources.TYPES``). A resource that refers
to one being replaced is modified too, replaced when the reference sits in one of its create-only properties.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from showcase.api.cloudformation.resources import TYPES
from showcase.api.errors import ApiError
from showcase.deployment.intrinsics import (
    Scope,
    check_rules,
    condition_scope,
    references,
    resolve,
    template_error,
)
from showcase.deployment.template import Parameter, load_template
from showcase.errors import UsageError

SECTIONS = frozenset(
    {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions",
     "Resources", "Outputs"}
)  # fmt: skip
PARAMETER_TYPES = frozenset({"String", "Number", "CommaDelimitedList", "List<Number>"})
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


@dataclass
class Plan:
    template: dict[str, Any]
    values: dict[str, Any]
    """Each parameter's value: a string, or a list of strings for CommaDelimitedList and List<Number>."""
    pseudo: dict[str, Any]
    conditions: dict[str, bool]
    order: list[str]
    """The resources the conditions keep, each after the ones it refers to or DependsOn."""
    static: dict[str, dict[str, Any]]
    """Each resource's properties with other resources' values unknown: what changes are judged on."""
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def parameters(self) -> list[dict[str, str]]:
        """DescribeStacks' Parameters."""
        return [
            {"ParameterKey": name, "ParameterValue": ",".join(value) if isinstance(value, list) else value}
            for name, value in self.values.items()
        ]

    def resource(self, logical: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.template["Resources"][logical]
        return resource


def invalid(message: str) -> ApiError:
    return ApiError("ValidationError", message)


def make_plan(
    text: str, given: list[dict[str, Any]], pseudo: dict[str, Any], previous: Mapping[str, Any] | None
) -> Plan:
    """Read ``text`` with the request's ``Parameters`` (``given``) against the stack's ``previous`` record (None
    for a new stack); ApiError ValidationError for anything CloudFormation would refuse."""
    try:
        template = load_template(text, "Template format error: the template")
        unknown = sorted(set(template) - SECTIONS)
        if unknown:
            raise template_error(f"the local CloudFormation does not read the section(s) {', '.join(unknown)}")
        values = parameter_values(template, given, previous)
        scope = condition_scope(template, values, pseudo)
        check_rules(template, scope)
        order = _order(template, scope.conditions, frozenset(values))
        static = {logical: _static(template, logical, scope) for logical in order}
    except UsageError as exc:
        raise invalid(str(exc)) from None
    plan = Plan(template, values, pseudo, dict(scope.conditions), order, static)
    plan.changes = changes(plan, (previous or {}).get("Resources") or {})
    return plan


def parameter_values(
    template: Mapping[str, Any], given: list[dict[str, Any]], previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    declared: dict[str, Any] = template.get("Parameters") or {}
    old = {p["ParameterKey"]: p["ParameterValue"] for p in (previous or {}).get("Parameters") or []}
    unknown = sorted(p["ParameterKey"] for p in given if p["ParameterKey"] not in declared)
    if unknown:
        raise UsageError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    chosen: dict[str, str] = {}
    for entry in given:
        name = entry["ParameterKey"]
        if entry.get("UsePreviousValue"):
            if name not in old:
                raise UsageError(f"Invalid input for parameter key {name}. Cannot specify usePreviousValue as true "
                                 "for a parameter the stack does not have")  # fmt: skip
            chosen[name] = old[name]
        elif entry.get("ParameterValue") is not None:
            chosen[name] = str(entry["ParameterValue"])
    missing = [name for name, spec in declared.items() if name not in chosen and "Default" not in spec]
    if missing:
        raise UsageError(f"Parameters: [{', '.join(missing)}] must have values")
    return {name: _value(name, spec, chosen.get(name, spec.get("Default"))) for name, spec in declared.items()}


def _value(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    kind = spec.get("Type", "String")
    if kind not in PARAMETER_TYPES:
        raise UsageError(f"Parameter '{name}' is of type {kind}, which the local CloudFormation does not resolve "
                         f"(it resolves {', '.join(sorted(PARAMETER_TYPES))})")  # fmt: skip
    if isinstance(raw, bool):  # a YAML default written true or false
        text = "true" if raw else "false"
    else:
        text = ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    if kind in ("CommaDelimitedList", "List<Number>"):
        return [item.strip() for item in text.split(",")] if text else []
    problem = Parameter(name, spec).problem(text)
    if problem:
        raise UsageError(f"Parameter '{name}' {problem}")
    return text


def _order(template: Mapping[str, Any], conditions: Mapping[str, bool], names: frozenset[str]) -> list[str]:
    resources: dict[str, Any] = template["Resources"]
    kept = {}
    for logical, resource in resources.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            raise template_error(f"resource {logical} has no Type")
        condition = resource.get("Condition")
        if condition is not None and condition not in conditions:
            raise template_error(f"resource {logical} names the condition {condition!r}, which is not declared")
        if condition is None or conditions[condition]:
            kept[logical] = resource
    unsupported = sorted({r["Type"] for r in kept.values() if r["Type"] not in TYPES})
    if unsupported:
        raise UsageError(
            f"Template format error: the local CloudFormation does not make {', '.join(unsupported)}; "
            f"it makes {', '.join(sorted(TYPES))}"
        )
    graph = {}
    for logical, resource in kept.items():
        depends = resource.get("DependsOn") or []
        needed = references(resource.get("Properties") or {}, conditions, names)
        needed |= {depends} if isinstance(depends, str) else set(depends)
        missing = sorted(needed - set(kept))
        if missing:
            raise UsageError(
                f"Template format error: Unresolved resource dependencies [{', '.join(missing)}] in the Resources "
                "block of the template"
            )
        graph[logical] = needed
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise UsageError(f"Circular dependency between resources: [{', '.join(exc.args[1])}]") from None


def placeholder(logical: str, attribute: str | None) -> str:
    return "{{" + logical + "." + (attribute or "Ref") + "}}"


def _static(template: Mapping[str, Any], logical: str, scope: Scope) -> dict[str, Any]:
    kind = TYPES[template["Resources"][logical]["Type"]]

    def unknown(other: str, attribute: str | None) -> str:
        if other not in template["Resources"]:
            raise template_error(f"{logical} refers to {other!r}, which is neither a parameter nor a resource")
        other_type = TYPES.get(template["Resources"][other]["Type"])
        if attribute is not None and other_type is not None and attribute not in other_type.attributes:
            raise template_error(f"resource {other} does not support attribute type {attribute} in Fn::GetAtt")
        return placeholder(other, attribute)

    static_scope = Scope(scope.parameters, scope.pseudo, scope.mappings, scope.conditions, unknown)
    properties = resolve(template["Resources"][logical].get("Properties") or {}, static_scope)
    return {"Type": kind.type_name, "Properties": properties}


def changes(plan: Plan, before: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ResourceChange entries from the stack's current resources ``before`` to ``plan``."""
    found: list[dict[str, Any]] = []
    replaced: set[str] = set()
    for logical in plan.order:
        old = before.get(logical)
        static = plan.static[logical]
        if old is None:
            found.append(_change("Add", logical, static["Type"], None))
            continue
        if old["Type"] != static["Type"]:
            found.append(_change("Modify", logical, static["Type"], old, "True", []))
            replaced.add(logical)
            continue
        details = _details(static["Type"], old.get("Static") or {}, static["Properties"], replaced)
        if details:
            recreate = any(d["Target"]["RequiresRecreation"] == "Always" for d in details)
            found.append(_change("Modify", logical, static["Type"], old, "True" if recreate else "False", details))
            if recreate:
                replaced.add(logical)
    for logical, old in before.items():
        if logical not in plan.static:
            found.append(_change("Remove", logical, old["Type"], old))
    return found


def _details(type_name: str, old: Mapping[str, Any], new: Mapping[str, Any], replaced: set[str]) -> list[Any]:
    create_only = TYPES[type_name].create_only
    details = []
    for name in sorted(set(old) | set(new)):
        direct = old.get(name) != new.get(name)
        cause = next((r for r in sorted(replaced) if "{{" + r + "." in str(new.get(name, ""))), None)
        if not direct and cause is None:
            continue
        detail: dict[str, Any] = {
            "Target": {
                "Attribute": "Properties",
                "Name": name,
                "RequiresRecreation": "Always" if name in create_only else "Never",
            },
            "Evaluation": "Static" if direct else "Dynamic",
            "ChangeSource": "DirectModification" if direct else "ResourceAttribute",
        }
        if not direct:
            detail["CausingEntity"] = cause
        details.append(detail)
    return details


def _change(
    action: str,
    logical: str,
    type_name: str,
    old: Mapping[str, Any] | None,
    replacement: str | None = None,
    details: list[Any] | None = None,
) -> dict[str, Any]:
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": type_name}
    if old is not None and old.get("PhysicalResourceId"):
        change["PhysicalResourceId"] = old["PhysicalResourceId"]
    if action == "Modify":
        change.update(Replacement=replacement, Scope=["Properties"], Details=details or [])
    return {"Type": "Resource", "ResourceChange": change}


def is_empty(plan: Plan, previous: Mapping[str, Any] | None, tags: list[Any]) -> bool:
    """Whether executing the plan would change nothing: no resource, parameter, output or tag differs."""
    if previous is None or plan.changes:
        return False
    same_parameters = plan.parameters == previous.get("Parameters")
    same_outputs = plan.template.get("Outputs") == (previous.get("Template") or {}).get("Outputs")
    return same_parameters and same_outputs and tags == (previous.get("Tags") or [])


def pseudo_parameters(region: str, account: str, stack_name: str, stack_id: str) -> dict[str, Any]:
    return {
        "AWS::AccountId": account,
        "AWS::NotificationARNs": [],
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::StackId": stack_id,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }
