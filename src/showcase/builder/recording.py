"""What a build reads, recorded while it runs: environment variables, files and directories, and who read them.

Two process-wide hooks do the recording, both in force only inside ``recording()``:

- ``os.environ``'s class is swapped for ``_RecordingEnviron`` for the block and swapped back after. Each read
  of a variable (``os.environ[...]``, ``.get``, ``in``, ``os.getenv``) is recorded by name; each enumeration
  as a dependency on the whole environment, or on the slice of it its reader is known to use alone
  (``_slice_read_by``).
- An audit hook (``sys.addaudithook``) sees every ``open``, ``os.listdir`` and ``os.scandir``. Audit hooks
  cannot be removed: it is added on the first recording and returns at once whenever none is active.

Each read of a project file is told apart by the code that opened it, for ``patching``: the SDK's code hash
(``hash_files_or_dirs`` of ``sagemaker.core.workflow.utilities``, or ``sagemaker.workflow.utilities`` in
the SDK v2; its path list is kept), an upload
(``DefinitionSession.upload_data``, or s3transfer feeding the ``PutObject`` a local build answers), or
anything else (``OTHER``).
"""

from __future__ import annotations

import _collections_abc
import contextlib
import io
import os
import pathlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

HASH, UPLOAD, OTHER = "hash", "upload", "other"

Slice = tuple[str, str]
"""A part of the environment: ``("suffix", "_proxy")``, ``("prefix", "TQDM_")`` or ``("name", NAME)``."""


@dataclass
class Reads:
    """What one build read."""

    environ_before: dict[str, str]
    """The environment as it was when the build began (held in memory only)."""
    outside: tuple[str, ...] = ()
    """Directories whose files are not the project's (the interpreter's, site-packages, the system's)."""
    variables: set[str] = field(default_factory=set)
    whole_environment: bool = False
    slices: set[Slice] = field(default_factory=set)
    """Parts of the environment enumerated by a reader known to use only them (``_slice_read_by``)."""
    pinned: set[str] = field(default_factory=set)
    """Variables the build set for itself (``pin``): what it read of them is no input."""
    opened: set[str] = field(default_factory=set)
    listed: set[str] = field(default_factory=set)
    readers: dict[str, set[str]] = field(default_factory=dict)
    """Project file -> what read it: ``HASH``, ``UPLOAD`` or ``OTHER``."""
    hashed: set[tuple[str, ...]] = field(default_factory=set)
    """The path lists the SDK's code hash was given."""


_active: list[Reads] = []
_hooked: list[bool] = []


def pin(names: Iterable[str]) -> None:
    """Say that the build sets these variables for itself from here to its end, whatever they held before:
    reading them is no input of the build (nothing happens outside a recording)."""
    for reads in _active:
        reads.pinned.update(names)


@contextlib.contextmanager
def recording(outside: tuple[str, ...]) -> Iterator[Reads]:
    """Record what the block reads; the environment and the hooks are as before once it ends."""
    if not _hooked:
        sys.addaudithook(_audit)  # cannot be removed: it does nothing outside a recording
        _hooked.append(True)
    reads = Reads(dict(os.environ), outside=outside)
    original = type(os.environ)
    os.environ.__class__ = _RecordingEnviron
    _active.append(reads)
    try:
        yield reads
    finally:
        _active.remove(reads)
        os.environ.__class__ = original


def in_slice(name: str, part: Slice) -> bool:
    kind, value = part
    if kind == "suffix":
        return name.lower().endswith(value)
    if kind == "prefix":
        return name.startswith(value)
    return name == value


# -- the environment ------------------------------------------------------------------------------------------

_ENVIRON_PLUMBING = {"<frozen os>", "<frozen _collections_abc>", os.__file__, _collections_abc.__file__}
_ENUMERATIONS = {"ItemsView.__iter__", "ValuesView.__iter__", "_Environ.copy"}
"""Frames of ``os.environ`` itself; those that read every variable while enumerating them."""


def _function_code(module_name: str, *names: str) -> CodeType | None:
    found: Any = sys.modules.get(module_name)
    for name in names:
        found = getattr(found, name, None)
    return getattr(found, "__code__", None)


def _slice_read_by(frame: FrameType | None) -> Slice | None:
    """The part of the environment a known enumerator of it depends on, from its frame; None for any other.

    ``urllib.request.getproxies_environment`` (botocore's proxy look-up for every client) uses the variables
    named ``*_proxy`` in any case (``REQUEST_METHOD``, which it also reads, is read by name); botocore's
    ``IMDSFetcher`` copies the environment to read ``AWS_EC2_METADATA_DISABLED`` from the copy; tqdm's
    ``envwrap`` uses the variables with its prefix (``TQDM_``)."""
    if frame is None:
        return None
    code = frame.f_code
    if code is _function_code("urllib.request", "getproxies_environment"):
        return ("suffix", "_proxy")
    if code is _function_code("botocore.utils", "IMDSFetcher", "__init__"):
        return ("name", "AWS_EC2_METADATA_DISABLED")
    tqdm = sys.modules.get("tqdm.utils")
    if tqdm is not None and code.co_filename == tqdm.__file__ and code.co_qualname == "envwrap.<locals>.<genexpr>":
        prefix = frame.f_locals.get("prefix")
        return ("prefix", prefix) if isinstance(prefix, str) and prefix else None
    return None


def _environment_reader(frame: FrameType | None) -> tuple[bool, Slice | None]:
    """Whether ``os.environ`` is being enumerated, and the slice its reader depends on (see ``_slice_read_by``)."""
    enumerating = False
    while frame is not None and frame.f_code.co_filename in _ENVIRON_PLUMBING:
        enumerating = enumerating or frame.f_code.co_qualname in _ENUMERATIONS
        frame = frame.f_back
    return enumerating, _slice_read_by(frame)


class _RecordingEnviron(os._Environ):
    """``os.environ`` while a build runs: every read is recorded by name, and every enumeration as a
    dependency on the whole environment, or on the slice of it its reader is known to use (``_slice_read_by``)."""

    def __getitem__(self, key: str) -> str:
        enumerating, part = _environment_reader(sys._getframe(1))
        if not (enumerating and part is not None):  # a known enumerator's reads are its slice's
            for reads in _active:
                reads.variables.add(key)
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        _, part = _environment_reader(sys._getframe(1))
        for reads in _active:
            if part is None:
                reads.whole_environment = True
            else:
                reads.slices.add(part)
        return super().__iter__()


# -- files and directories ------------------------------------------------------------------------------------

_HASH_MODULES = ("sagemaker.core.workflow.utilities", "sagemaker.workflow.utilities")
"""Where the SDK's code hash is: v3's, v2's (the same function, a build in the SDK v2 environment)."""
_UPLOAD_READERS = (("showcase.aws.session", "DefinitionSession", "upload_data"),)
_UPLOAD_PACKAGE = "s3transfer"
"""Code that reads a file only to upload its bytes: our deferred-upload session, and s3transfer (which boto3's
``upload_file`` uses, its bytes going to the ``PutObject`` or multipart calls a local build keeps)."""
_PLUMBING = {os.path.abspath(module.__file__) for module in (pathlib, io) if module.__file__}
"""Standard-library frames between a reader and ``open``: ``Path.read_bytes`` is its caller's read."""


def _opened_by(frame: FrameType | None) -> tuple[str, tuple[str, ...] | None]:
    """What opened a file, from the frame that called ``open``: the SDK's code hash (with the path list it
    hashes), an upload, or anything else."""
    while frame is not None and frame.f_code.co_filename in _PLUMBING:
        frame = frame.f_back
    if frame is None:
        return OTHER, None
    code = frame.f_code
    hash_module = next((name for name in _HASH_MODULES if code is _function_code(name, "_hash_file")), None)
    if hash_module is not None:
        caller = _function_code(hash_module, "hash_files_or_dirs")
        outer = frame.f_back
        while outer is not None and outer.f_code.co_filename == code.co_filename and outer.f_code is not caller:
            outer = outer.f_back
        paths = outer.f_locals.get("paths") if outer is not None and outer.f_code is caller else None
        if isinstance(paths, list) and all(isinstance(path, str) for path in paths):
            return HASH, tuple(paths)
        return OTHER, None
    if any(code is _function_code(*reader) for reader in _UPLOAD_READERS):
        return UPLOAD, None
    package = sys.modules.get(_UPLOAD_PACKAGE)
    if (
        package is not None
        and package.__file__
        and code.co_filename.startswith(os.path.join(os.path.dirname(package.__file__), ""))
    ):
        return UPLOAD, None
    return OTHER, None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        if "r" in mode and "+" not in mode:
            _opened(os.path.abspath(os.fsdecode(args[0])), sys._getframe(1))
    elif (
        event in ("os.listdir", "os.scandir")
        and isinstance(args[0], (str, bytes, os.PathLike))
        and sys._getframe(1).f_code.co_name != "_fill_cache"  # the import system's look-up, not the build's
    ):
        for reads in _active:
            reads.listed.add(os.path.abspath(os.fsdecode(args[0])))


def _opened(path: str, frame: FrameType | None) -> None:
    reader: tuple[str, tuple[str, ...] | None] | None = None
    for reads in _active:
        reads.opened.add(path)
        if path.startswith(reads.outside) or os.path.realpath(path).startswith(reads.outside):
            continue
        reader = reader or _opened_by(frame)
        reads.readers.setdefault(path, set()).add(reader[0])
        if reader[1] is not None:
            reads.hashed.add(reader[1])
