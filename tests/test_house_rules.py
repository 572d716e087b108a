"""Rules the whole package keeps, read from its source with ast: one clock."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "showcase"


def modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(PACKAGE.rglob("*.py"))]


def test_the_time_now_is_read_in_one_place() -> None:
    """``showcase.clock.now`` is the one reading of the clock (the command lines' own two readings aside, which show
    a time rather than record one); every other module asks it."""
    readers = []
    for path, tree in modules():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "clock.py" or relative.startswith("cli/"):
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
