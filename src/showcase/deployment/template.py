"""The endpoint template's ``Parameters``: which names an endpoint config may hold, and what each accepts.

``aws cloudformation deploy --parameter-overrides`` silently drops a name the template does not declare, and
refuses a bad value only once the stack operation starts; both are checked here first, with CloudFormation's
own rules: ``AllowedPattern`` must match the whole value, ``AllowedValues``, ``MinLength``/``MaxLength`` for a
String, a number within ``MinValue``/``MaxValue`` for a Number, and every parameter without a ``Default`` given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from showcase.errors import UsageError
from showcase.files import read_user_text


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (``!Ref``, ``!If``, ...), read as plain nodes."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_TemplateLoader.add_multi_constructor("!", _intrinsic)


class _LongFormLoader(yaml.SafeLoader):
    """YAML (or JSON) with the short forms written out as CloudFormation reads them: ``!Ref X`` is
    ``{"Ref": "X"}``, ``!GetAtt A.B`` is ``{"Fn::GetAtt": ["A", "B"]}``, ``!Condition C`` is ``{"Condition": "C"}``
    and any other ``!Name v`` is ``{"Fn::Name": v}``."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value = _intrinsic(loader, suffix, node)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_LongFormLoader.add_multi_constructor("!", _long_form)


def load_template(text: str, source: str) -> dict[str, Any]:
    """A template's text (YAML or JSON, short forms or long) as CloudFormation reads it; UsageError naming
    ``source`` when it is not a template."""
    try:
        document = yaml.load(text, Loader=_LongFormLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source} is not valid YAML or JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise UsageError(f"{source} has no Resources mapping: a template declares at least one resource")
    return document


@dataclass(frozen=True)
class Parameter:
    name: str
    spec: Mapping[str, Any]

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` for this parameter, or None."""
        spec = self.spec
        if "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
            return f"must be one of {', '.join(map(str, spec['AllowedValues']))}"
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                return "must be a number"
            if not math.isfinite(number):
                return "must be a finite number"
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return f"must be at least {spec['MinValue']}"
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return f"must be at most {spec['MaxValue']}"
            return None
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            return f"must match the pattern {spec['AllowedPattern']}"
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            return f"must be at least {spec['MinLength']} characters long"
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            return f"must be at most {spec['MaxLength']} characters long"
        return None


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: Mapping[str, Parameter]

    def check(self, values: Mapping[str, str], origins: Mapping[str, str], *, complete: bool) -> None:
        """Refuse names the template does not declare and values it would refuse; ``complete``: and missing ones.

        ``origins`` says where each value came from (a flag, or the config file) for the message.
        """
        for name, value in values.items():
            origin = origins[name]
            parameter = self.parameters.get(name)
            if parameter is None:
                raise UsageError(
                    f"{origin}: {name!r} is not a parameter of {self.path.name} "
                    f"(it declares {', '.join(self.parameters)}); remove it or correct its name"
                )
            problem = parameter.problem(value)
            if problem:
                raise UsageError(f"{origin}: {name} {value!r} {problem} ({self.path.name})")
        if complete:
            missing = [name for name, p in self.parameters.items() if "Default" not in p.spec and name not in values]
            if missing:
                raise UsageError(f"{self.path.name} needs a value for {', '.join(missing)}, which has no Default")


def read_template(path: str | Path) -> Template:
    """Read a CloudFormation template's Parameters, or raise a UsageError naming the file."""
    path = Path(path)
    text = read_user_text(path, "template", missing_hint="; pass --template")
    try:
        document = yaml.load(text, Loader=_TemplateLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"template {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    parameters = document.get("Parameters") if isinstance(document, dict) else None
    if not isinstance(parameters, dict) or not all(isinstance(spec, dict) for spec in parameters.values()):
        raise UsageError(f"template {str(path)!r} has no Parameters mapping")
    return Template(path=path, parameters={name: Parameter(name, spec) for name, spec in parameters.items()})
