"""``-k`` keyword arguments checked against ``get_pipeline``'s signature before it is called.

A keyword ``get_pipeline`` does not take is refused with the ones it takes (and the closest, for a typo); a
required one that is missing is named. A value is checked against the parameter's type: its annotation when it
is a plain ``bool``, ``int``, ``float`` or ``str`` (optionally ``| None``), else the type of its default. JSON
gives each its own type, so ``{"tune": "false"}`` (a string, which Python takes as true) is refused rather than
building the tuned variant; an ``int`` is taken where a ``float`` is expected, as Python would.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from types import NoneType, UnionType
from typing import Any

from showcase.errors import UsageError
from showcase.reporting import suggest

CHECKED = (bool, int, float, str)
JSON_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", NoneType: "null"}


def check_kwargs(function: Callable[..., Any], kwargs: Mapping[str, Any], where: str) -> None:
    """Raise UsageError, in one line, for the first keyword ``function`` would not take as given.

    ``where`` names the function for the message (``get_pipeline of showcase.pipeline``).
    """
    signature = inspect.signature(function)
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    types = _types(function)
    accepted = ", ".join(
        f"{name} ({_describe(types[name])})" if name in types else name
        for name, param in params.items()
        if param.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    )
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise UsageError(
            f"-k/--kwargs: {where} accepts no {', '.join(map(repr, unknown))}{suggest(unknown[0], params)}; "
            f"it accepts {accepted}"
        )
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in kwargs]
    if missing:
        raise UsageError(f"-k/--kwargs: {where} needs {', '.join(map(repr, missing))}")
    for name, value in kwargs.items():
        expected = types.get(name)
        if expected is not None and not _fits(value, expected):
            raise UsageError(
                f"-k/--kwargs: {name} must be {_describe(expected)} (JSON writes true, false and numbers unquoted), "
                f"got {json.dumps(value)}; {where} accepts {accepted}"
            )


def _types(function: Callable[..., Any]) -> dict[str, tuple[type, ...]]:
    """Each keyword's accepted types, where they can be known; keywords of other types are left out."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # an annotation that does not resolve here: fall back to the defaults' types
        hints = {}
    found: dict[str, tuple[type, ...]] = {}
    for name, param in inspect.signature(function).parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        kinds = _plain(hints.get(name))
        if kinds is None and param.default is not inspect.Parameter.empty and type(param.default) in CHECKED:
            kinds = (type(param.default),)
        if kinds is not None:
            found[name] = kinds
    return found


def _plain(hint: Any) -> tuple[type, ...] | None:
    """``bool``, ``int | None``... as a tuple of types; None for any other annotation (not checked)."""
    if hint in CHECKED:
        return (hint,)
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        members = typing.get_args(hint)
        if all(member in (*CHECKED, NoneType) for member in members):
            return tuple(members)
    return None


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return any(type(value) is kind for kind in kinds)


def _describe(kinds: tuple[type, ...]) -> str:
    return " or ".join(JSON_NAMES.get(kind, kind.__name__) for kind in kinds)
