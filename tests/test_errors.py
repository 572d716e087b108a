"""errors.py draws the whole exception tree: every ShowcaseError subclass in the package is on its map."""

from __future__ import annotations

import ast
from pathlib import Path

from showcase import errors

SRC = Path(errors.__file__).resolve().parent


def _classes() -> list[tuple[str, list[str], Path]]:
    """(name, base names, file) of every class the package defines (read from the source, nothing imported)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [
                    base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "") for base in node.bases
                ]
                found.append((node.name, bases, path))
    return found


def test_the_map_names_every_error_class_and_no_two_share_a_name() -> None:
    classes = _classes()
    ours = {"ShowcaseError"}
    grew = True
    while grew:
        grew = False
        for name, bases, _ in classes:
            if name not in ours and ours.intersection(bases):
                ours.add(name)
                grew = True
    doc = errors.__doc__ or ""
    missing = sorted(name for name in ours - {"ShowcaseError"} if f"── {name} " not in doc)
    assert not missing, f"add these to the tree in errors.py's docstring: {missing}"
    defined = [name for name, _, _ in classes if name in ours]
    assert len(defined) == len(set(defined)), f"two error classes share a name: {sorted(defined)}"
    assert "ClientError" not in ours, "botocore has a ClientError; ours must be called something else"
