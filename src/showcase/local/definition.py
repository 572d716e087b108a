"""Parse and check a pipeline definition JSON before anything runs.

Every problem found (unsupported step types, unknown references, duplicate names, cycles, an executor's
own objections) is collected and raised as one DefinitionError, so a user fixes them in one pass.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from showcase.errors import DefinitionError
from showcase.local import conditions
from showcase.local.expressions import EXECUTION_VARIABLES, PropertyFileSpec, Reference, references
from showcase.local.jobs import Executor

VERSION = "2020-12-01"
PARAMETER_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}
ENGINE_STEP_TYPES = ("Condition", "Fail")
WHY_UNSUPPORTED = {
    "Lambda": "it invokes an AWS Lambda function",
    "Callback": "it waits for an external SQS callback",
    "EMR": "it runs on an Amazon EMR cluster",
    "ClarifyCheck": "it runs a SageMaker Clarify job",
    "AutoML": "it runs an Autopilot job",
}


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any = None


@dataclass(frozen=True)
class StepSpec:
    name: str
    type: str
    arguments: dict[str, Any]
    raw: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    branch: tuple[str, bool] | None = None
    """For a step inside IfSteps/ElseSteps: (condition step, outcome under which it runs)."""
    conditions: tuple[dict[str, Any], ...] = ()
    dependencies: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Definition:
    raw: dict[str, Any]
    parameters: dict[str, ParameterSpec]
    steps: dict[str, StepSpec]
    """Every step, nested branch steps included, in topological order."""
    property_files: dict[tuple[str, str], PropertyFileSpec]


def parse(raw: Any, executors: Mapping[str, Executor]) -> Definition:
    """Check ``raw`` against the supported subset; raise one DefinitionError listing every problem."""
    found: list[str] = []
    if not isinstance(raw, dict):
        raise DefinitionError(f"a pipeline definition is a JSON object, got {type(raw).__name__}")
    if raw.get("Version") != VERSION:
        found.append(f"Version is {raw.get('Version')!r}, expected {VERSION!r}")
    parameters = _parameters(raw.get("Parameters", []), found)
    flat: list[tuple[dict[str, Any], tuple[str, bool] | None]] = []
    _flatten(raw.get("Steps"), None, flat, found)
    names = [str(step.get("Name")) for step, _ in flat]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            found.append(f"step name {name!r} is used more than once")
        seen.add(name)
    property_files = _property_files(flat, found)
    steps = [_step(step, branch, executors, parameters, seen, property_files, found) for step, branch in flat]
    order = _order({step.name: step.dependencies for step in steps}, found)
    if found:
        plural = "problem" if len(found) == 1 else "problems"
        summary = f"the definition cannot run locally ({len(found)} {plural}): "
        raise DefinitionError(summary + "; ".join(found))
    by_name = {step.name: step for step in steps}
    return Definition(raw, parameters, {name: by_name[name] for name in order}, property_files)


def _parameters(raw: Any, found: list[str]) -> dict[str, ParameterSpec]:
    parameters: dict[str, ParameterSpec] = {}
    for item in raw if isinstance(raw, list) else []:
        name, kind = item.get("Name"), item.get("Type", "String")
        if not isinstance(name, str) or kind not in PARAMETER_TYPES:
            found.append(f"parameter {item!r} needs a Name and a Type of {', '.join(PARAMETER_TYPES)}")
            continue
        default = item.get("DefaultValue")
        if default is not None and not _has_type(default, kind):
            found.append(f"parameter {name!r} is {kind} but its DefaultValue is {default!r}")
        if name in parameters:
            found.append(f"parameter {name!r} is declared more than once")
        parameters[name] = ParameterSpec(name, kind, default)
    if not isinstance(raw, list):
        found.append(f"Parameters must be a list, got {type(raw).__name__}")
    return parameters


def _has_type(value: Any, kind: str) -> bool:
    return isinstance(value, PARAMETER_TYPES[kind]) and (kind == "Boolean" or not isinstance(value, bool))


def _flatten(raw: Any, branch: tuple[str, bool] | None, out: list[Any], found: list[str]) -> None:
    if not isinstance(raw, list):
        found.append(f"Steps must be a list, got {type(raw).__name__}")
        return
    for step in raw:
        if not isinstance(step, dict) or not isinstance(step.get("Name"), str) or "Type" not in step:
            found.append(f"every step needs a Name and a Type, got {step!r}")
            continue
        out.append((step, branch))
        if step["Type"] == "Condition":
            body = _condition_body(step)
            _flatten(body.get("IfSteps", []), (step["Name"], True), out, found)
            _flatten(body.get("ElseSteps", []), (step["Name"], False), out, found)


def _condition_body(step: dict[str, Any]) -> dict[str, Any]:
    """The SDK puts Conditions/IfSteps/ElseSteps in Arguments; older definitions put them on the step."""
    arguments = step.get("Arguments")
    return arguments if isinstance(arguments, dict) and "Conditions" in arguments else step


def _property_files(flat: list[Any], found: list[str]) -> dict[tuple[str, str], PropertyFileSpec]:
    files: dict[tuple[str, str], PropertyFileSpec] = {}
    for step, _ in flat:
        for item in step.get("PropertyFiles", []):
            try:
                fields = (item["PropertyFileName"], item["OutputName"], item["FilePath"])
            except (KeyError, TypeError):
                found.append(f"step {step['Name']!r}: malformed PropertyFile {item!r}")
                continue
            spec = PropertyFileSpec(step["Name"], *fields)
            files[(spec.step_name, spec.name)] = spec
    return files


def _step(
    raw: dict[str, Any],
    branch: tuple[str, bool] | None,
    executors: Mapping[str, Executor],
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    property_files: Mapping[tuple[str, str], PropertyFileSpec],
    found: list[str],
) -> StepSpec:
    name, kind = raw["Name"], raw["Type"]
    arguments: dict[str, Any] = raw["Arguments"] if isinstance(raw.get("Arguments"), dict) else {}
    prefix = f"step {name!r} ({kind})"
    conds: list[dict[str, Any]] = []
    read: Any = arguments
    if kind == "Condition":
        conds = list(_condition_body(raw).get("Conditions", []))
        read = [list(conditions.operands(c)) if isinstance(c, dict) else c for c in conds]
        found.extend(f"{prefix}: {problem}" for c in conds for problem in conditions.problems(c))
    elif kind == "Fail":
        read = arguments.get("ErrorMessage", "")
    elif kind in executors:
        # Some step types keep part of their request beside Arguments (QualityCheck's SkipCheck, ...).
        fields = getattr(executors[kind], "step_fields", ())
        arguments = {**arguments, **{key: raw[key] for key in fields if raw.get(key) is not None}}
        read = arguments
        found.extend(f"{prefix}: {problem}" for problem in executors[kind].problems(arguments))
    else:
        why = WHY_UNSUPPORTED.get(kind, "no local executor runs this step type")
        supported = ", ".join(sorted([*executors, *ENGINE_STEP_TYPES]))
        found.append(f"{prefix} is not supported locally: {why} (supported: {supported})")
    depends_on = tuple(raw.get("DependsOn") or ())
    for other in depends_on:
        if other not in step_names:
            found.append(f"{prefix} DependsOn unknown step {other!r}")
    used = _referenced_steps(read, prefix, parameters, step_names, property_files, found)
    deps = {d for d in depends_on if d in step_names} | used | ({branch[0]} if branch else set())
    return StepSpec(name, kind, arguments, raw, depends_on, branch, tuple(conds), frozenset(deps))


def _referenced_steps(
    value: Any,
    prefix: str,
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    property_files: Mapping[tuple[str, str], PropertyFileSpec],
    found: list[str],
) -> set[str]:
    steps: set[str] = set()
    try:
        refs: Iterable[Reference] = list(references(value))
    except ValueError as exc:
        found.append(f"{prefix}: {exc}")
        return steps
    for ref in refs:
        problem = _check(ref, parameters, step_names, property_files)
        if problem:
            found.append(f"{prefix}: {problem}")
        elif ref.kind in ("Steps", "PropertyFile"):
            steps.add(ref.name or next(k[0] for k in property_files if k[1] == ref.path))
    return steps


def _check(
    ref: Reference,
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    property_files: Mapping[tuple[str, str], PropertyFileSpec],
) -> str | None:
    if ref.kind == "Parameters" and ref.name not in parameters:
        return f"Parameters.{ref.name} is not declared (declared: {', '.join(parameters) or 'none'})"
    if ref.kind == "Execution" and ref.name not in EXECUTION_VARIABLES:
        return f"Execution.{ref.name} is not an execution variable ({', '.join(sorted(EXECUTION_VARIABLES))})"
    if ref.kind in ("Steps", "PropertyFile") and ref.name and ref.name not in step_names:
        return f"Steps.{ref.name} references an unknown step"
    if ref.kind == "PropertyFile" and ref.name and (ref.name, ref.path) not in property_files:
        return f"step {ref.name!r} declares no PropertyFile named {ref.path!r}"
    if ref.kind == "PropertyFile" and not ref.name:
        owners = [k for k in property_files if k[1] == ref.path]
        if len(owners) != 1:
            return f"PropertyFile {ref.path!r} is declared by {len(owners)} steps, expected exactly one"
    return None


def _order(dependencies: dict[str, frozenset[str]], found: list[str]) -> list[str]:
    graph = {name: {d for d in deps if d in dependencies} for name, deps in dependencies.items()}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        found.append("the steps form a cycle (each depends on the next): " + " -> ".join(reversed(cycle)))
        return list(dependencies)
