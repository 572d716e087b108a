"""Parse and check a pipeline definition JSON before anything runs.

Every problem found (unsupported step types, unknown references, duplicate names, names SageMaker would refuse,
cycles, a step type's own objections) is collected and raised as one DefinitionError, so a user fixes them in
one pass. What each step ``Type`` is comes from its declaration (``showcase.local.steptype.StepType``) in the
table the caller gives (``showcase.local.steps.STEP_TYPES``). A definition larger than SageMaker takes, or nested
deeper than the runtime walks, is refused first.
Parsing is linear in the size of the definition.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from showcase.errors import DefinitionError, UsageError
from showcase.local.expressions import EXECUTION_VARIABLES, PropertyFileSpec, Reference, references
from showcase.local.steptype import StepType, refused
from showcase.names import PARAMETER_NAME, STEP_NAME, shown
from showcase.parameters import TYPES, values

VERSION = "2020-12-01"
MAX_DEFINITION_CHARS = 1_048_576
"""CreatePipeline's ``PipelineDefinition``: at most 1,048,576 characters (botocore shape PipelineDefinition),
measured as the SDK sends it (``json.dumps`` of the definition)."""
MAX_NESTING = 200
"""How deep objects and lists may nest. The SDK's definitions nest about 15 levels; the runtime walks a definition
recursively (references, resolution, records), so much deeper ones are refused rather than half-run."""


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
    """Its request as its step type reads it (``StepType.arguments_of``)."""
    raw: dict[str, Any]
    step_type: StepType
    depends_on: tuple[str, ...] = ()
    branch: tuple[str, bool] | None = None
    """For a step inside IfSteps/ElseSteps: (condition step, outcome under which it runs)."""
    dependencies: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Definition:
    raw: dict[str, Any]
    parameters: dict[str, ParameterSpec]
    steps: dict[str, StepSpec]
    """Every step, nested branch steps included, in topological order."""
    property_files: dict[tuple[str, str], PropertyFileSpec]

    def parameter_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The declared defaults updated with ``overrides`` (strings or typed values, checked by
        ``parameters.values``); UsageError names a bad one, or the parameters left without a value."""
        given = values({name: spec.type for name, spec in self.parameters.items()}, overrides.items())
        typed = {name: spec.default for name, spec in self.parameters.items()} | given
        missing = [name for name, value in typed.items() if value is None]
        if missing:
            raise UsageError(f"parameters {', '.join(missing)} have no DefaultValue; give them a value")
        return typed


def parse(raw: Any, step_types: Mapping[str, StepType], *, max_chars: int | None = MAX_DEFINITION_CHARS) -> Definition:
    """Check ``raw`` against the supported subset; raise one DefinitionError listing every problem.

    ``max_chars`` is SageMaker's size limit (None skips measuring, for callers that measured already).
    """
    found: list[str] = []
    if not isinstance(raw, dict):
        raise DefinitionError(f"a pipeline definition is a JSON object, got {type(raw).__name__}")
    _check_size(raw, max_chars)
    if raw.get("Version") != VERSION:
        found.append(f"Version is {shown(raw.get('Version'))}, expected {VERSION!r}")
    parameters = _parameters(raw.get("Parameters", []), found)
    flat: list[tuple[dict[str, Any], tuple[str, bool] | None]] = []
    _flatten(raw.get("Steps"), None, flat, found, step_types)
    names = [str(step.get("Name")) for step, _ in flat]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            found.append(f"step name {shown(name)} is used more than once")
        seen.add(name)
    property_files = _property_files(flat, found)
    owners: dict[str, dict[str, None]] = {}  # a PropertyFile name -> the steps declaring it, in order
    for step_name, file_name in property_files:
        owners.setdefault(file_name, {})[step_name] = None
    steps = [_step(step, branch, step_types, parameters, seen, owners, found) for step, branch in flat]
    order = _order({step.name: step.dependencies for step in steps}, found)
    if found:
        plural = "problem" if len(found) == 1 else "problems"
        summary = f"the definition cannot run locally ({len(found)} {plural}): "
        raise DefinitionError(summary + "; ".join(found))
    by_name = {step.name: step for step in steps}
    return Definition(raw, parameters, {name: by_name[name] for name in order}, property_files)


def _check_size(raw: dict[str, Any], max_chars: int | None) -> None:
    """Refuse, before anything else, a definition nested deeper than MAX_NESTING or longer than ``max_chars``."""
    level: list[Any] = [raw]  # the objects and lists at one depth, breadth first
    for _ in range(MAX_NESTING):
        below: list[Any] = []
        for value in level:
            items = value.values() if isinstance(value, dict) else value
            below += [item for item in items if isinstance(item, dict | list)]
        level = below
    if level:
        raise DefinitionError(
            f"the definition nests objects and lists more than {MAX_NESTING} levels deep; "
            "the local runtime does not run it: flatten the deeply nested value"
        )
    if max_chars is None:
        return
    size = len(json.dumps(raw, default=str))
    if size > max_chars:
        raise DefinitionError(
            f"the definition is {size:,} characters as JSON, over SageMaker's limit of {max_chars:,} "
            "(CreatePipeline's PipelineDefinition): split the pipeline, or move large values into objects it reads"
        )


def _parameters(raw: Any, found: list[str]) -> dict[str, ParameterSpec]:
    parameters: dict[str, ParameterSpec] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            found.append(f"every parameter is an object with a Name and a Type, got {shown(item)}")
            continue
        name, kind = item.get("Name"), item.get("Type", "String")
        if not isinstance(name, str) or not isinstance(kind, str) or kind not in TYPES:
            found.append(f"parameter {shown(item)} needs a Name and a Type of {', '.join(TYPES)}")
            continue
        problem = PARAMETER_NAME.problem("parameter name", name)
        if problem:
            found.append(problem)
        default = item.get("DefaultValue")
        if default is not None and not TYPES[kind].holds(default):
            found.append(f"parameter {name!r} is {kind} but its DefaultValue is {shown(default)}")
        if name in parameters:
            found.append(f"parameter {name!r} is declared more than once")
        parameters[name] = ParameterSpec(name, kind, default)
    if not isinstance(raw, list):
        found.append(f"Parameters must be a list, got {type(raw).__name__}")
    return parameters


def _flatten(
    raw: Any,
    branch: tuple[str, bool] | None,
    out: list[Any],
    found: list[str],
    step_types: Mapping[str, StepType],
    where: str = "Steps",
) -> None:
    if not isinstance(raw, list):
        found.append(f"{where} must be a list, got {type(raw).__name__}")
        return
    for step in raw:
        if not isinstance(step, dict) or not isinstance(step.get("Name"), str) or not isinstance(step.get("Type"), str):
            found.append(f"every step needs a Name and a Type, got {shown(step)}")
            continue
        problem = STEP_NAME.problem("step name", step["Name"])
        if problem:
            found.append(problem)
        out.append((step, branch))
        declared = step_types.get(step["Type"])
        if declared is None or not declared.branches:
            continue
        body = declared.arguments_of(step)
        prefix = f"step {shown(step['Name'])} ({step['Type']}):"
        for key, outcome in declared.branches:
            _flatten(body.get(key, []), (step["Name"], outcome), out, found, step_types, f"{prefix} {key}")


def _property_files(flat: list[Any], found: list[str]) -> dict[tuple[str, str], PropertyFileSpec]:
    files: dict[tuple[str, str], PropertyFileSpec] = {}
    for step, _ in flat:
        items = step.get("PropertyFiles", [])
        prefix = f"step {shown(step['Name'])}"
        if not isinstance(items, list):
            found.append(f"{prefix}: PropertyFiles must be a list, got {type(items).__name__}")
            continue
        for item in items:
            keys = ("PropertyFileName", "OutputName", "FilePath")
            given = [item.get(key) for key in keys] if isinstance(item, dict) else []
            fields = [value for value in given if isinstance(value, str) and value]
            if len(fields) != len(keys):
                found.append(f"{prefix}: a PropertyFile needs {', '.join(keys)} (strings), got {shown(item)}")
                continue
            spec = PropertyFileSpec(step["Name"], *fields)
            if spec.file_path.startswith("/") or ".." in spec.file_path.split("/") or "\x00" in spec.file_path:
                found.append(
                    f"{prefix}: PropertyFile {spec.name!r} FilePath {shown(spec.file_path)} must be a path "
                    "relative to its output, without '..'"
                )
            if (spec.step_name, spec.name) in files:
                found.append(f"{prefix} declares the PropertyFile {spec.name!r} more than once")
            files[(spec.step_name, spec.name)] = spec
    return files


def _step(
    raw: dict[str, Any],
    branch: tuple[str, bool] | None,
    step_types: Mapping[str, StepType],
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    owners: Mapping[str, Mapping[str, None]],
    found: list[str],
) -> StepSpec:
    """The step as its type reads it, every problem of it added to ``found``."""
    name, kind = raw["Name"], raw["Type"]
    prefix = f"step {shown(name)} ({kind})"
    declared = step_types.get(kind) or refused(kind, "no local executor runs this step type", kind)
    if declared.refused is not None:
        supported = ", ".join(sorted(known.name for known in step_types.values() if known.refused is None))
        found.append(f"{prefix} is not supported locally: {declared.refused} (supported: {supported})")
        arguments: dict[str, Any] = raw["Arguments"] if isinstance(raw.get("Arguments"), dict) else {}
        read: Any = arguments
    else:
        arguments = declared.arguments_of(raw)
        found.extend(f"{prefix}: {problem}" for problem in declared.problems(arguments))
        read = declared.references(arguments)
    depends_on = _depends_on(raw.get("DependsOn"), prefix, found)
    for other in depends_on:
        if other not in step_names:
            found.append(f"{prefix} DependsOn unknown step {shown(other)}")
    used = _referenced_steps(read, prefix, parameters, step_names, owners, found)
    deps = {d for d in depends_on if d in step_names} | used | ({branch[0]} if branch else set())
    return StepSpec(name, kind, arguments, raw, declared, depends_on, branch, frozenset(deps))


def _depends_on(raw: Any, prefix: str, found: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        found.append(f"{prefix}: DependsOn must be a list of step names, got {shown(raw)}")
        return ()
    return tuple(raw)


def _referenced_steps(
    value: Any,
    prefix: str,
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    owners: Mapping[str, Mapping[str, None]],
    found: list[str],
) -> set[str]:
    steps: set[str] = set()
    try:
        refs: Iterable[Reference] = list(references(value))
    except ValueError as exc:
        found.append(f"{prefix}: {exc}")
        return steps
    for ref in refs:
        problem = _check(ref, parameters, step_names, owners)
        if problem:
            found.append(f"{prefix}: {problem}")
        elif ref.kind in ("Steps", "PropertyFile"):
            steps.add(ref.name or next(iter(owners[ref.path])))
    return steps


def _check(
    ref: Reference,
    parameters: Mapping[str, ParameterSpec],
    step_names: set[str],
    owners: Mapping[str, Mapping[str, None]],
) -> str | None:
    """What is wrong with one reference; ``owners`` maps a PropertyFile name to the steps that declare it."""
    if ref.kind == "Parameters" and ref.name not in parameters:
        return f"Parameters.{ref.name} is not declared (declared: {', '.join(parameters) or 'none'})"
    if ref.kind == "Execution" and ref.name not in EXECUTION_VARIABLES:
        return f"Execution.{ref.name} is not an execution variable ({', '.join(sorted(EXECUTION_VARIABLES))})"
    if ref.kind in ("Steps", "PropertyFile") and ref.name and ref.name not in step_names:
        return f"Steps.{ref.name} references an unknown step"
    if ref.kind == "PropertyFile" and ref.name and ref.name not in owners.get(ref.path, {}):
        return f"step {ref.name!r} declares no PropertyFile named {ref.path!r}"
    if ref.kind == "PropertyFile" and not ref.name and len(owners.get(ref.path, {})) != 1:
        return f"PropertyFile {ref.path!r} is declared by {len(owners.get(ref.path, {}))} steps, expected exactly one"
    return None


def _order(dependencies: dict[str, frozenset[str]], found: list[str]) -> list[str]:
    graph = {name: {d for d in deps if d in dependencies} for name, deps in dependencies.items()}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        found.append("the steps form a cycle (each depends on the next): " + " -> ".join(reversed(cycle)))
        return list(dependencies)
