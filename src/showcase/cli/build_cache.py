"""The definition cache: a local run reuses the definition it built last time while none of its inputs changed.

Building a definition imports the SDK and runs the user's module, seconds that have nothing to do with the
jobs. ``cached_build`` records, while it builds, everything the build read, and reuses the result only while
all of it is the same:

- the request: module name, ``-k`` kwargs, region and account, working directory, interpreter and its version;
- every file of the project the build imported (each module in ``sys.modules`` whose file is outside the
  interpreter's own directories, site-packages and the system's directories: the pipeline module, the modules
  it imports, this package's own modules) and every such file it opened (the code files it uploads, a config
  file it reads), by content;
- every directory of the project it listed (a ``source_dir`` whose files are uploaded), by its names;
- every environment variable it read (``os.environ[...]``, ``.get``, ``in``, ``os.getenv``), by value or
  absence as it was before the build began; a build that enumerates the environment depends on all of it
  (botocore does, making any client: it looks for proxy settings), so a run from a shell whose environment
  differs in any variable builds again;
- the SageMaker SDK's installed version.

Checking an entry reads no unchanged file (``showcase.local.digests``) and imports neither the SDK nor the
user's module. What the rule cannot see: environment read by C code (``getenv(3)``), files opened by C code,
and modules a build tried and failed to import (a new file that would now shadow or satisfy one); ``--rebuild``
builds regardless.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import site
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from showcase.local.digests import FileDigests

FORMAT = 1
SDK_DISTRIBUTION = "sagemaker"
SYSTEM_DIRECTORIES = ("/proc/", "/sys/", "/dev/", "/run/", "/usr/", "/etc/", "/lib/", "/lib64/", "/bin/", "/sbin/")
"""Files here are the machine's (time zones, CA bundles, /proc counters), not inputs of a build."""


@dataclass
class Built:
    """What a build gives a local run."""

    pipeline_name: str
    definition: dict[str, Any]
    uploads: dict[str, bytes]
    cached: bool = False


@dataclass
class _Reads:
    environ_before: dict[str, str]
    variables: dict[str, str | None] = field(default_factory=dict)
    whole_environment: bool = False
    opened: set[str] = field(default_factory=set)
    listed: set[str] = field(default_factory=set)


_active: list[_Reads] = []


class _RecordingEnviron(os._Environ):
    """``os.environ`` while a build runs: every read is recorded with the value it had before the build."""

    def __getitem__(self, key: str) -> str:
        for reads in _active:
            reads.variables.setdefault(key, reads.environ_before.get(key))
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        for reads in _active:
            reads.whole_environment = True
        return super().__iter__()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        if "r" in mode and "+" not in mode:
            for reads in _active:
                reads.opened.add(os.path.abspath(os.fsdecode(args[0])))
    elif (
        event in ("os.listdir", "os.scandir")
        and isinstance(args[0], (str, bytes, os.PathLike))
        and sys._getframe(1).f_code.co_name != "_fill_cache"  # the import system's look-up, not the build's
    ):
        for reads in _active:
            reads.listed.add(os.path.abspath(os.fsdecode(args[0])))


_hooked: list[bool] = []


@contextlib.contextmanager
def _recording(environ_before: dict[str, str]) -> Iterator[_Reads]:
    if not _hooked:
        sys.addaudithook(_audit)  # cannot be removed: it does nothing outside a recording
        _hooked.append(True)
    reads = _Reads(environ_before)
    original = type(os.environ)
    os.environ.__class__ = _RecordingEnviron
    _active.append(reads)
    try:
        yield reads
    finally:
        _active.remove(reads)
        os.environ.__class__ = original


def _outside_project() -> tuple[str, ...]:
    """Directories whose files are the interpreter's and installed packages', not the project's."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(sysconfig.get_paths().values())
    with contextlib.suppress(AttributeError):
        roots.update(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        roots.add(site.getusersitepackages())
    return (*(os.path.join(os.path.realpath(root), "") for root in roots if root), *SYSTEM_DIRECTORIES)


def _project_file(path: str, outside: tuple[str, ...], home: str) -> bool:
    real = os.path.realpath(path)
    return not real.startswith(outside) and not real.startswith(home) and os.path.isfile(real)


def sdk_version() -> str | None:
    """The installed SageMaker SDK's version, from its dist-info directory's name (the SDK is not imported)."""
    spec = importlib.util.find_spec(SDK_DISTRIBUTION)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        parent = Path(location).parent
        for info in sorted(parent.glob(f"{SDK_DISTRIBUTION}-*.dist-info")):
            return info.name.removeprefix(f"{SDK_DISTRIBUTION}-").removesuffix(".dist-info")
    return None


def _environment_digest(environ: dict[str, str]) -> str:
    """The whole environment as one digest: an entry never holds a variable's value that was not asked for."""
    return hashlib.sha256(json.dumps(sorted(environ.items())).encode()).hexdigest()


class BuildCache:
    """Entries under ``root`` (``$SHOWCASE_HOME/definitions``), one per request."""

    def __init__(self, root: Path, digests: FileDigests) -> None:
        self.root = root
        self.digests = digests

    def build(self, request: dict[str, Any], build: Callable[[], Built], *, rebuild: bool = False) -> Built:
        """The cached result for ``request`` while its inputs are unchanged; otherwise ``build()``, recorded."""
        request = {
            **request,
            "cwd": os.getcwd(),
            "python": sys.executable,
            "python_version": sys.version,
            "format": FORMAT,
        }
        material = json.dumps(request, sort_keys=True, default=str)
        path = self.root / f"{hashlib.sha256(material.encode()).hexdigest()}.json"
        if not rebuild:
            hit = self._load(path, request)
            if hit is not None:
                return hit
        environ_before = dict(os.environ)
        with _recording(environ_before) as reads:
            built = build()
        self._save(path, request, built, reads)
        return built

    def _load(self, path: Path, request: dict[str, Any]) -> Built | None:
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            if entry["request"] != json.loads(json.dumps(request, default=str)) or not self._current(entry["inputs"]):
                return None
            uploads = {uri: base64.b64decode(data) for uri, data in entry["uploads"].items()}
            return Built(entry["pipeline_name"], entry["definition"], uploads, cached=True)
        except (KeyError, TypeError, ValueError):
            return None  # an entry of another shape: build again

    def _current(self, inputs: dict[str, Any]) -> bool:
        if inputs["sdk"] != sdk_version():
            return False
        if inputs["whole_environment"] and inputs["environment"] != _environment_digest(dict(os.environ)):
            return False
        if any(os.environ.get(name) != value for name, value in inputs["variables"].items()):
            return False
        for directory, names in inputs["directories"].items():
            try:
                if sorted(os.listdir(directory)) != names:
                    return False
            except OSError:
                return False
        for file, digest in inputs["files"].items():
            try:
                if self.digests.sha256(file) != digest:
                    return False
            except OSError:
                return False
        self.digests.save()
        return True

    def _save(self, path: Path, request: dict[str, Any], built: Built, reads: _Reads) -> None:
        outside = _outside_project()
        home = os.path.join(os.path.realpath(self.root.parent), "")
        modules = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
        candidates = {os.path.abspath(name) for name in modules if isinstance(name, str)} | reads.opened
        files = sorted(name for name in candidates if _project_file(name, outside, home))
        directories = {}
        for directory in sorted(reads.listed):
            real = os.path.join(os.path.realpath(directory), "")
            if not real.startswith(outside) and not real.startswith(home) and os.path.isdir(directory):
                directories[directory] = sorted(os.listdir(directory))
        inputs = {
            "sdk": sdk_version(),
            "variables": dict(sorted(reads.variables.items())),
            "whole_environment": reads.whole_environment,
            "environment": _environment_digest(reads.environ_before) if reads.whole_environment else None,
            "directories": directories,
            "files": {name: self.digests.sha256(name) for name in files},
        }
        self.digests.save()
        entry = {
            "request": json.loads(json.dumps(request, default=str)),
            "inputs": inputs,
            "pipeline_name": built.pipeline_name,
            "definition": built.definition,
            "uploads": {uri: base64.b64encode(data).decode() for uri, data in built.uploads.items()},
        }
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".entry-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entry, out)
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
