"""Which SageMaker Python SDK a pipeline module is written for, read from its imports without running it.

The SDK v3 (the project's own) keeps its modules under ``sagemaker.core``, ``sagemaker.train``,
``sagemaker.mlops`` and ``sagemaker.ai_registry``; ``sagemaker`` itself is an empty namespace. The SDK v2 has
``sagemaker.session``, ``sagemaker.workflow``, ``sagemaker.estimator``, ``sagemaker.processing`` and some
seventy more, none of them in v3. So the rule, applied to the module's source and to that of every module of
its own project it imports (followed from import to import, absolute and relative, found where Python would
find them but never imported):

- an import of a v3 module (one of the four above) is v3's;
- an import of ``sagemaker`` itself, of ``sagemaker.X`` or ``from sagemaker import X`` for any other ``X``
  is v2's, except ``sagemaker.serve`` and ``sagemaker.lineage``, which both SDKs have;
- v2's and none of v3's: the module is built with the SDK v2 (``showcase.builder.worker``); both: it cannot
  be built, and the message names one import of each; neither (``showcase.pipeline``, a module that imports
  no SDK): the SDK v3.

A module of its own project is one found under the same ``sys.path`` entry as the pipeline module, outside the
interpreter's directories and site-packages (``inputs.outside_project``). A syntax error in any of them is one
line naming the file and the line.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

from showcase.builder.inputs import outside_project
from showcase.errors import UsageError

V2, V3 = "v2", "v3"
V3_ONLY = frozenset({"core", "train", "mlops", "ai_registry"})
BOTH = frozenset({"serve", "lineage"})
MAX_FILES = 2000
"""Files read at most while following a project's imports."""


@dataclass(frozen=True)
class Verdict:
    """The SDK a module is written for, and the import that says so (None: it imports neither SDK)."""

    sdk: str
    because: str | None = None
    """``"pipelines/abalone/pipeline.py:14 says from sagemaker.workflow.pipeline import Pipeline"``."""


def written_for(module_name: str) -> Verdict:
    """The SDK ``module_name`` is written for (see the module's docstring); ``Verdict(V3)`` when its file is not
    found here (the import then says why)."""
    spec, root = _find(module_name, [*sys.path, os.getcwd()])
    if spec is None or root is None:
        return Verdict(V3)
    outside = outside_project()
    v2: str | None = None
    v3: str | None = None
    seen: set[str] = set()
    queue: list[tuple[str, ModuleSpec]] = [(module_name, spec)]
    while queue and len(seen) < MAX_FILES:
        name, found = queue.pop()
        origin = found.origin
        if not origin or not origin.endswith(".py") or origin in seen:
            continue
        seen.add(origin)
        try:
            found_imports = list(_imports(name, origin, found.submodule_search_locations is not None))
        except SyntaxError as exc:
            where = f"{shown(exc.filename or origin)}:{exc.lineno}"
            raise UsageError(f"-n/--module-name {module_name!r}: {where}: SyntaxError: {exc.msg}") from None
        except OSError as exc:
            raise UsageError(
                f"-n/--module-name {module_name!r}: {shown(origin)} cannot be read ({exc.strerror})"
            ) from None
        for line, imported, statement in found_imports:
            family = _family(imported)
            where = f"{shown(origin)}:{line} says {statement}"
            if family == V2:
                v2 = where if v2 is None or (v2.endswith(" says import sagemaker") and "." in imported) else v2
            elif family == V3:
                v3 = v3 or where
            elif family is None and not imported.startswith("sagemaker"):
                for local_name, local in _local_modules(imported, root, outside):
                    queue.append((local_name, local))
    if v2 and v3:
        raise UsageError(
            f"-n/--module-name {module_name!r} imports modules of both SageMaker Python SDKs ({v2}; {v3}): "
            "a pipeline module is built with one, v2 or v3"
        )
    if v2:
        return Verdict(V2, v2)
    return Verdict(V3, v3)


def _family(name: str) -> str | None:
    """``V2``, ``V3`` or None (no SDK module, or one both SDKs have) for an imported dotted name."""
    parts = name.split(".")
    if parts[0] != "sagemaker":
        return None
    if len(parts) == 1:
        return V2  # ``import sagemaker`` gives v3's empty namespace
    if parts[1] in V3_ONLY:
        return V3
    return None if parts[1] in BOTH else V2


def _imports(name: str, path: str, is_package: bool) -> Iterable[tuple[int, str, str]]:
    """(line, dotted name, statement) of each import in the file, relative ones made absolute; ``from a import
    b`` gives ``a.b`` (``b`` may be a module, or a name ``a`` defines), ``from a import *`` gives ``a``."""
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            for alias in node.names:
                statement = f"from {'.' * node.level}{node.module or ''} import {alias.name}"
                if alias.name == "*":
                    yield node.lineno, base, statement
                else:
                    yield node.lineno, f"{base}.{alias.name}" if base else alias.name, statement


def _absolute(module: str | None, level: int, package: str) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` in ``package``; None when it goes above
    the top of the package."""
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not parts:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _find(name: str, path: list[str]) -> tuple[ModuleSpec | None, str | None]:
    """The spec of a dotted module name, found as the import system would but without running any of it (no
    package's ``__init__``), and the ``sys.path`` entry it was found under."""
    spec: ModuleSpec | None = None
    search: list[str] | None = path
    root = None
    parts = name.split(".")
    for index in range(len(parts)):
        if search is None:
            return None, None
        try:
            spec = PathFinder.find_spec(".".join(parts[: index + 1]), search)
        except (ImportError, ValueError):
            return None, None
        if spec is None:
            return None, None
        if index == 0:
            root = next((entry for entry in search if _under(spec, entry)), None)
        search = list(spec.submodule_search_locations or []) or None
    return spec, root


def _under(spec: ModuleSpec, entry: str) -> bool:
    places = [spec.origin] if spec.origin else []
    places += list(spec.submodule_search_locations or [])
    prefix = os.path.join(os.path.abspath(entry or os.curdir), "")
    return any(os.path.abspath(place).startswith(prefix) for place in places if place)


def _local_modules(name: str, root: str, outside: tuple[str, ...]) -> Iterable[tuple[str, ModuleSpec]]:
    """The module ``name`` names and the packages above it, those of them found under ``root`` alone (the
    project's own), outside the interpreter's and installed packages' directories."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        spec, found_root = _find(prefix, [root])
        if spec is None or found_root is None or not spec.origin:
            return
        if os.path.join(os.path.realpath(spec.origin), "").startswith(outside):
            return
        yield prefix, spec


def shown(path: str) -> str:
    """A path as the user knows it: relative to the working directory when it is under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative
