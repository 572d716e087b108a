"""Pipeline expressions: ``Get``, ``Std:Join`` and ``Std:JsonGet``, found statically and resolved at run time.

A ``Get`` names one of ``Parameters.<Name>``, ``Execution.<Variable>`` or ``Steps.<Step>.<property path>``;
property paths use SageMaker's syntax: ``Outputs['train']`` picks the list element whose ``...Name`` field
is ``train``, ``[0]`` indexes a list, ``['key']`` on an object reads that key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from showcase.clock import timestamp
from showcase.errors import StepFailed

GET, JOIN, JSON_GET = "Get", "Std:Join", "Std:JsonGet"
EXECUTION_VARIABLES = frozenset(
    {
        "StartDateTime",
        "CurrentDateTime",
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "TrainingJobName",
        "ProcessingJobName",
    }
)
_TOKEN = re.compile(r"\.?([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@dataclass(frozen=True)
class Reference:
    """What an expression reads: kind ``Parameters``, ``Execution``, ``Steps`` or ``PropertyFile``."""

    kind: str
    name: str
    """Parameter, variable or step name ("" for a property file given in its dict form)."""
    path: str = ""
    """The property path (``Steps``) or the property file name (``PropertyFile``)."""


def parse_get(text: Any) -> Reference:
    """Split ``"Steps.S.A.B"`` into a Reference; ValueError if it is not a known kind."""
    if not isinstance(text, str):
        raise ValueError(f"a Get must be a string, got {text!r}")
    kind, _, rest = text.partition(".")
    if kind == "Steps":
        step, _, path = rest.partition(".")
        if step and path.startswith("PropertyFiles."):
            return Reference("PropertyFile", step, path.removeprefix("PropertyFiles."))
        if step and path:
            return Reference("Steps", step, path)
    elif kind in ("Parameters", "Execution") and rest:
        return Reference(kind, rest)
    raise ValueError(f"{text!r} is not Parameters.<Name>, Execution.<Variable> or Steps.<Step>.<Property>")


def references(value: Any) -> Iterator[Reference]:
    """Every reference inside a JSON value (malformed Gets raise ValueError)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        if GET in value and len(value) == 1:
            yield parse_get(value[GET])
        elif JSON_GET in value and len(value) == 1:
            yield from _json_get_references(value[JSON_GET])
        else:
            for item in value.values():
                yield from references(item)


def _json_get_references(body: Any) -> Iterator[Reference]:
    if not isinstance(body, dict):
        raise ValueError(f"Std:JsonGet takes an object, got {body!r}")
    source = body.get("PropertyFile")
    if isinstance(source, dict) and "PropertyFileName" in source:
        yield Reference("PropertyFile", "", str(source["PropertyFileName"]))
    elif source is not None:
        yield from references(source)
    else:
        yield from references(body.get("S3Uri"))


def path_tokens(path: str) -> list[str | int]:
    """``"A.B['x'][0]"`` -> ``["A", "B", "x", 0]``; ValueError on anything else."""
    tokens: list[str | int] = []
    position = 0
    for match in _TOKEN.finditer(path):
        if match.start() != position:
            break
        name, index, single, double = match.groups()
        key = next((t for t in (name, single, double) if t is not None), "")
        tokens.append(int(index) if index is not None else key)
        position = match.end()
    if position != len(path) or not tokens:
        raise ValueError(f"cannot parse the path {path!r}")
    return tokens


def lookup(value: Any, path: str) -> Any:
    """Follow a property path (or a JsonGet path) through JSON; KeyError names the missing part."""
    for token in path_tokens(path.removeprefix("$.")):
        value = _step_into(value, token)
    return value


def _step_into(value: Any, token: str | int) -> Any:
    if isinstance(token, int) and isinstance(value, list) and -len(value) <= token < len(value):
        return value[token]
    if isinstance(token, str) and isinstance(value, dict) and token in value:
        return value[token]
    if isinstance(token, str) and isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and any(k.endswith("Name") and v == token for k, v in item.items()):
                return item
    raise KeyError(token)


def render(value: Any) -> str:
    """A value as Std:Join renders it: strings as they are, numbers and booleans as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class PropertyFileSpec:
    step_name: str
    name: str
    output_name: str
    file_path: str


class Resolver:
    """Resolves expressions against one execution's parameters, variables and step properties."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        variables: Mapping[str, Any],
        step_properties: Mapping[str, Any],
        property_files: Mapping[tuple[str, str], PropertyFileSpec],
        read_bytes: Callable[[str], bytes],
    ) -> None:
        self.parameters = parameters
        self.variables = variables
        self.step_properties = step_properties
        self.property_files = property_files
        self.read_bytes = read_bytes

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and GET in value:
            return self.get(parse_get(value[GET]), value[GET])
        if len(value) == 1 and JOIN in value:
            body = value[JOIN]
            return str(body.get("On", "")).join(render(self.resolve(v)) for v in body.get("Values", []))
        if len(value) == 1 and JSON_GET in value:
            return self.json_get(value[JSON_GET])
        return {key: self.resolve(item) for key, item in value.items()}

    def get(self, ref: Reference, text: str) -> Any:
        where = f"cannot resolve {{'Get': {text!r}}}"
        if ref.kind == "Parameters" and ref.name in self.parameters:
            return self.parameters[ref.name]
        if ref.kind == "Execution" and ref.name == "CurrentDateTime":
            return timestamp()
        if ref.kind == "Execution" and ref.name in self.variables:
            return self.variables[ref.name]
        if ref.kind == "Steps" and ref.name not in self.step_properties:
            raise StepFailed(f"{where}: step {ref.name!r} has no properties (it did not run)")
        if ref.kind == "Steps":
            try:
                return lookup(self.step_properties[ref.name], ref.path)
            except KeyError as exc:
                raise StepFailed(f"{where}: the step's properties have no {exc}") from None
            except ValueError as exc:
                raise StepFailed(f"{where}: {exc}") from None
        if ref.kind == "PropertyFile":
            raise StepFailed(f"{where}: a property file is only read through Std:JsonGet")
        raise StepFailed(f"{where}: {ref.kind} {ref.name!r} is not set in this execution")

    def json_get(self, body: dict[str, Any]) -> Any:
        uri = self._json_source(body)
        try:
            document = json.loads(self.read_bytes(uri))
        except Exception as exc:  # the store's own errors vary; the user needs the URI and the cause
            raise StepFailed(f"Std:JsonGet cannot read {uri}: {exc}") from exc
        try:
            return lookup(document, str(body.get("Path", "")))
        except (KeyError, ValueError) as exc:
            raise StepFailed(f"Std:JsonGet: {uri} has no {body.get('Path')!r} (missing {exc})") from None

    def _json_source(self, body: dict[str, Any]) -> str:
        if "S3Uri" in body:
            return str(self.resolve(body["S3Uri"]))
        source = body.get("PropertyFile")
        ref = next(_json_get_references(body))
        key = (ref.name, ref.path)
        if not ref.name:
            key = next((k for k in self.property_files if k[1] == ref.path), key)
        spec = self.property_files.get(key)
        if spec is None:
            raise StepFailed(f"Std:JsonGet: no property file {source!r}")
        output = f"ProcessingOutputConfig.Outputs['{spec.output_name}'].S3Output.S3Uri"
        base = self.get(Reference("Steps", spec.step_name, output), f"Steps.{spec.step_name}.{output}")
        return f"{str(base).rstrip('/')}/{spec.file_path}"
