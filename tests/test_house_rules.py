"""Rules the whole package keeps, read from its source with ast: small modules and short functions, one clock."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "showcase"


def modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(PACKAGE.rglob("*.py"))]


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_no_module_is_over_400_lines_and_no_function_over_60() -> None:
    """Every module of the package, the container scripts and their tests' subjects included: a module that grows
    past the limit is split by what its parts do; a function, by its steps."""
    too_long = []
    for path, tree in modules():
        relative = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{relative}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_the_time_now_is_read_in_one_place() -> None:
    """``showcase.clock.now`` is the one reading of the clock; every other module, the command lines' included, asks
    it."""
    readers = []
    for path, tree in modules():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "clock.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("now", "utcnow", "today")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("datetime", "date")
            ):
                readers.append(f"{relative}:{node.lineno}")
    assert readers == []
