"""The JSONPath subset batch transform's ``InputFilter`` and ``OutputFilter`` accept, and nothing more.

SageMaker's developer guide ("Associate Prediction Results with Input Records") lists the operators:
``$`` (the root), ``.<name>`` (a child), ``*`` (every child: ``.*`` or ``[*]``), ``['<name>'(,'<name>')]``
(children by name), ``[<number>(,<number>)]`` (elements by index, negative counting from the end) and
``[<start>:<end>]`` (a slice, either bound optional, negative allowed). A CSV record is the array of its
fields, so ``$[1:]`` drops the first column and ``$[0,-1]`` keeps the first and the last.

A path selecting through a union, slice or wildcard yields a list; one selecting single children yields
the value itself. A general JSONPath library would also accept filters, recursive descent and scripts,
which SageMaker refuses: they are refused here too, when the step is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*|\*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_INDEX = re.compile(r"^-?\d+$")
_SLICE = re.compile(r"^(-?\d+)?:(-?\d+)?$")
_QUOTED = re.compile(r"^'([^']*)'$")

Select = Callable[[Any], list[Any]]


class JsonPathError(ValueError):
    """A path outside the subset SageMaker documents."""


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[tuple[Select, bool], ...]
    """Each step maps one value to its selections, and says whether it may select many."""

    def apply(self, value: Any) -> Any:
        current, many = [value], False
        for select, multiple in self.steps:
            current = [selected for item in current for selected in select(item)]
            many = many or multiple
        if many:
            return current
        if not current:
            raise JsonPathError(f"{self.text} selects nothing in {str(value)[:80]!r}")
        return current[0]


def parse(text: str) -> JsonPath:
    """Parse ``text``; raises JsonPathError naming what is outside the documented subset."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise JsonPathError(f"{text!r} is not a JSONPath: it must start with $")
    steps: list[tuple[Select, bool]] = []
    position = 1
    while position < len(text):
        rest = text[position:]
        if rest.startswith(".."):
            raise JsonPathError(f"{text!r}: recursive descent (..) is not in SageMaker's JSONPath subset")
        name = _NAME.match(rest)
        bracket = _BRACKET.match(rest)
        if name:
            steps.append(_wildcard() if name.group(1) == "*" else (_children([name.group(1)]), False))
            position += name.end()
        elif bracket:
            steps.append(_bracket(text, bracket.group(1).strip()))
            position += bracket.end()
        else:
            raise JsonPathError(
                f"{text!r}: cannot read {rest[:20]!r} (SageMaker's subset: $, .name, *, "
                "['name'], [index, ...], [start:end])"
            )
    return JsonPath(text, tuple(steps))


def _bracket(text: str, inside: str) -> tuple[Select, bool]:
    if inside == "*":
        return _wildcard()
    slice_ = _SLICE.match(inside)
    if slice_:
        start, end = (None if part is None else int(part) for part in slice_.groups())
        return (lambda value: list(value[start:end]) if isinstance(value, list) else []), True
    parts = [part.strip() for part in inside.split(",")]
    if all(_INDEX.match(part) for part in parts):
        indexes = [int(part) for part in parts]
        return _elements(indexes), len(indexes) > 1
    quoted = [_QUOTED.match(part) for part in parts]
    if all(quoted):
        names = [match.group(1) for match in quoted if match]
        return _children(names), len(names) > 1
    raise JsonPathError(f"{text!r}: [{inside}] is not in SageMaker's JSONPath subset (filters and scripts are not)")


def _wildcard() -> tuple[Select, bool]:
    def select(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []

    return select, True


def _children(names: list[str]) -> Select:
    return lambda value: [value[name] for name in names if isinstance(value, dict) and name in value]


def _elements(indexes: list[int]) -> Select:
    def select(value: Any) -> list[Any]:
        if not isinstance(value, list):
            return []
        return [value[index] for index in indexes if -len(value) <= index < len(value)]

    return select
