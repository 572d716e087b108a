"""CloudFormation's intrinsic functions, resolved as CloudFormation resolves them for one stack.

A template's values are resolved against a ``Scope``: the parameters' values, the pseudo parameters
(``AWS::Region``, ``AWS::AccountId``, ...), the ``Mappings``, the ``Conditions`` already evaluated, and a callback
that answers ``Ref`` and ``Fn::GetAtt`` of the stack's resources. The functions understood are those this
project's templates use and those their neighbours in the CloudFormation user guide take for granted:

    Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap, Fn::If,
    Fn::Base64, and in Conditions and Rules: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, Fn::Contains

Any other function (Fn::ImportValue, Fn::GetAZs, Fn::Cidr, Fn::Transform, ...) is refused in one line naming it.
``Ref: AWS::NoValue`` removes the property, or the list item, that holds it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from showcase.errors import UsageError


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``{"Ref": "AWS::NoValue"}`` resolves to; dropped from the mapping or list that holds it."""

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
_SUB_NAME = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition", "Fn::Contains")

ResourceValue = Callable[[str, "str | None"], Any]
"""``(logical id, attribute)``: the value of ``Fn::GetAtt`` of that attribute, or of ``Ref`` when it is None."""


def template_error(message: str) -> UsageError:
    return UsageError(f"Template error: {message}")


@dataclass(frozen=True)
class Scope:
    parameters: Mapping[str, Any]
    pseudo: Mapping[str, Any]
    mappings: Mapping[str, Any]
    conditions: Mapping[str, bool]
    resource: ResourceValue

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        return self.resource(name, None)


def _function(value: Any) -> tuple[str, Any] | None:
    """``(name, argument)`` when ``value`` is a one-key mapping naming a function, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (name, argument), *_ = value.items()
        if name == "Ref" or name.startswith("Fn::") or name == "Condition":
            return name, argument
    return None


def resolve(value: Any, scope: Scope) -> Any:
    """``value`` with every function applied; ``NO_VALUE`` when it is ``Ref: AWS::NoValue`` itself."""
    function = _function(value)
    if function is not None:
        name, argument = function
        handler = _FUNCTIONS.get(name)
        if handler is None:
            if name in _CONDITION_FUNCTIONS:
                raise template_error(f"{name} is supported only in Conditions and Rules, not here")
            known = ", ".join([*_FUNCTIONS, *_CONDITION_FUNCTIONS])
            raise template_error(f"{name} is not supported by the local CloudFormation (it resolves {known})")
        return handler(argument, scope)
    if isinstance(value, dict):
        resolved = {key: resolve(item, scope) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}
    if isinstance(value, list):
        return [item for item in (resolve(item, scope) for item in value) if item is not NO_VALUE]
    return value


def _list(name: str, argument: Any, length: int | None = None) -> list[Any]:
    if not isinstance(argument, list) or (length is not None and len(argument) != length):
        shape = f"a list of {length} elements" if length else "a list"
        raise template_error(f"{name} takes {shape}, got {argument!r}")
    return argument


def _ref(argument: Any, scope: Scope) -> Any:
    if not isinstance(argument, str):
        raise template_error(f"Ref takes a name, got {argument!r}")
    return scope.ref(argument)


def _get_att(argument: Any, scope: Scope) -> Any:
    logical, attribute = _list("Fn::GetAtt", argument, 2)
    attribute = resolve(attribute, scope)
    if not isinstance(logical, str) or not isinstance(attribute, str):
        raise template_error(f"Fn::GetAtt takes [resource, attribute], got {argument!r}")
    return scope.resource(logical, attribute)


def _sub(argument: Any, scope: Scope) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else _list("Fn::Sub", argument, 2)
    if not isinstance(text, str) or not isinstance(variables, dict):
        raise template_error(f"Fn::Sub takes a string or [string, mapping], got {argument!r}")
    values = {key: resolve(item, scope) for key, item in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            return _text(values[name], "Fn::Sub")
        if "." in name and name.split(".", 1)[0] not in scope.parameters:
            logical, attribute = name.split(".", 1)
            return _text(scope.resource(logical, attribute), "Fn::Sub")
        return _text(scope.ref(name), "Fn::Sub")

    return _SUB_NAME.sub(substitute, text)


def _text(value: Any, function: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise template_error(f"{function} can only put strings and numbers into text, got {value!r}")


def _join(argument: Any, scope: Scope) -> str:
    delimiter, items = _list("Fn::Join", argument, 2)
    items = resolve(items, scope)
    if not isinstance(delimiter, str) or not isinstance(items, list):
        raise template_error(f"Fn::Join takes [delimiter, list], got {argument!r}")
    return delimiter.join(_text(item, "Fn::Join") for item in items)


def _select(argument: Any, scope: Scope) -> Any:
    index, items = (resolve(part, scope) for part in _list("Fn::Select", argument, 2))
    if not isinstance(items, list) or not str(index).isdigit() or int(index) >= len(items):
        raise template_error(f"Fn::Select index {index!r} is not an index of {items!r}")
    return items[int(index)]


def _split(argument: Any, scope: Scope) -> list[str]:
    delimiter, text = (resolve(part, scope) for part in _list("Fn::Split", argument, 2))
    return str(text).split(str(delimiter))


def _find_in_map(argument: Any, scope: Scope) -> Any:
    name, first, second = (resolve(part, scope) for part in _list("Fn::FindInMap", argument, 3))
    try:
        return scope.mappings[name][first][second]
    except (KeyError, TypeError):
        raise template_error(f"Fn::FindInMap: mapping {name!r} has no [{first!r}][{second!r}]") from None


def _if(argument: Any, scope: Scope) -> Any:
    condition, when_true, when_false = _list("Fn::If", argument, 3)
    if condition not in scope.conditions:
        raise template_error(f"Fn::If names the condition {condition!r}, which Conditions does not declare")
    return resolve(when_true if scope.conditions[condition] else when_false, scope)


def _base64(argument: Any, scope: Scope) -> str:
    return base64.b64encode(_text(resolve(argument, scope), "Fn::Base64").encode()).decode()


_FUNCTIONS: dict[str, Callable[[Any, Scope], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _if,
    "Fn::Base64": _base64,
}


# -- conditions and rules --------------------------------------------------------------------------------------


def _no_resources(logical: str, attribute: str | None) -> Any:
    raise template_error(f"Conditions and Rules cannot refer to the resource {logical!r}")


def condition_scope(template: Mapping[str, Any], parameters: Mapping[str, Any], pseudo: Mapping[str, Any]) -> Scope:
    """A scope for Conditions and Rules (no resource exists yet), with every condition evaluated."""
    scope = Scope(parameters, pseudo, template.get("Mappings") or {}, {}, _no_resources)
    declared = template.get("Conditions") or {}
    values: dict[str, bool] = {}
    for name in declared:
        _condition(name, declared, scope, values, ())
    return Scope(parameters, pseudo, scope.mappings, values, _no_resources)


def _condition(
    name: str, declared: Mapping[str, Any], scope: Scope, values: dict[str, bool], path: tuple[str, ...]
) -> bool:
    if name in values:
        return values[name]
    if name not in declared:
        raise template_error(f"the condition {name!r} is not declared in Conditions")
    if name in path:
        raise template_error(f"the conditions {' -> '.join([*path, name])} refer to each other in a circle")
    values[name] = _truth(
        declared[name], scope, lambda other: _condition(other, declared, scope, values, (*path, name))
    )
    return values[name]


def _truth(value: Any, scope: Scope, condition: Callable[[str], bool]) -> bool:
    """A condition function's value (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, Fn::Contains)."""
    function = _function(value)
    if function is None:
        raise template_error(f"a condition must be a condition function, got {value!r}")
    name, argument = function
    if name == "Condition":
        return condition(str(argument))
    if name == "Fn::Equals":
        left, right = (_comparable(resolve(part, scope)) for part in _list(name, argument, 2))
        return left == right
    if name == "Fn::Contains":
        items, item = (resolve(part, scope) for part in _list(name, argument, 2))
        return _comparable(item) in [_comparable(each) for each in items]
    parts = [_truth(part, scope, condition) for part in _list(name, argument)]
    if name == "Fn::Not" and len(parts) == 1:
        return not parts[0]
    if name in ("Fn::And", "Fn::Or") and 2 <= len(parts) <= 10:
        return all(parts) if name == "Fn::And" else any(parts)
    raise template_error(f"{name} is not a condition function, or has the wrong number of conditions")


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def check_rules(template: Mapping[str, Any], scope: Scope) -> None:
    """Raise UsageError with the AssertDescription of the first assertion of ``Rules`` that does not hold."""
    for name, rule in (template.get("Rules") or {}).items():
        applies = "RuleCondition" not in rule or _truth(rule["RuleCondition"], scope, scope.conditions.__getitem__)
        for assertion in rule.get("Assertions", []) if applies else []:
            if not _truth(assertion["Assert"], scope, scope.conditions.__getitem__):
                raise UsageError(assertion.get("AssertDescription") or f"Template rule {name} failed")


# -- dependencies --------------------------------------------------------------------------------------------


def references(value: Any, conditions: Mapping[str, bool], names: frozenset[str]) -> set[str]:
    """The logical ids of resources ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub), following only the
    Fn::If branches ``conditions`` take; ``names`` are the parameters (not resources)."""
    return set(_references(value, conditions, names | PSEUDO_PARAMETERS))


def _references(value: Any, conditions: Mapping[str, bool], skip: frozenset[str]) -> Iterator[str]:
    function = _function(value)
    if function is not None:
        name, argument = function
        if name == "Ref" and isinstance(argument, str) and argument not in skip:
            yield argument
        elif name == "Fn::GetAtt" and isinstance(argument, list) and argument:
            yield str(argument[0])
        elif name == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            yield from _references(argument[1] if conditions.get(argument[0]) else argument[2], conditions, skip)
        elif name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
            for found in _SUB_NAME.findall(str(text)):
                head = found.split(".", 1)[0]
                if not found.startswith("!") and head not in skip and head not in variables:
                    yield head
            yield from _references(variables, conditions, skip)
        else:
            yield from _references(argument, conditions, skip)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item, conditions, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, conditions, skip)
