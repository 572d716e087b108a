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
  absence as it was before the build began; a build that enumerates the environment depends on all of it,
  unless the code enumerating it is known to use a slice of it alone: urllib's proxy look-up (which botocore
  makes for every client) the variables named ``*_proxy``, botocore's instance-metadata fetcher
  ``AWS_EC2_METADATA_DISABLED``, tqdm the ``TQDM_`` ones (``_slice_read_by``); a variable nothing read (the
  shell's ``OLDPWD``) is then no input;
- the SageMaker SDK's installed version.

One kind of change is patched in rather than built: a code file the build read only to hash it and upload it
(``processor.run(code=...)`` in a pipeline names the upload ``<pipeline>/code/<sha256>/<file>``, the sha256 of
the file's path and bytes). While recording, each read of a project file is told apart by the code that
opened it: the SDK's code hash (``sagemaker.core.workflow.utilities.hash_files_or_dirs``, whose path list is
kept), an upload (``DefinitionSession.upload_data``, or s3transfer feeding the ``PutObject`` a local build
answers), or anything else. A file is patchable only when all of this held for the build:

- it was read by the code hash and, at most, by an upload; never imported, never opened by anything else;
- every code hash that read it covered regular files only, and its digest, computed again from the path
  list, appears in the definition in full and nowhere in part (not its first 8 digits alone, in either
  case), and in no uploaded object's bytes; every object named after it holds one of its files' bytes;
- the objects holding its bytes (when it was uploaded) are named after one of those digests, and no other
  file the build read has the same bytes.

When every changed input is such a file, the entry's definition and uploads get the new digests in place of
the old, and the new bytes in place of the old object, without importing the SDK; what a build would have
produced, byte for byte. Anything else changed, a file read any other way (a ``source_dir`` archived into a
tar.gz, a ``ModelTrainer``'s code under a job name made at build time, a script the module reads itself), or
an entry recorded before this rule: the definition is built again.

Checking an entry reads no unchanged file (``showcase.local.digests``) and imports neither the SDK nor the
user's module. What the rule cannot see: environment read by C code (``getenv(3)``), files opened by C code,
and modules a build tried and failed to import (a new file that would now shadow or satisfy one); ``--rebuild``
builds regardless.
"""

from __future__ import annotations

import _collections_abc
import base64
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import site
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any
from urllib.parse import unquote, urlparse

from showcase.local.digests import FileDigests

FORMAT = 3
SDK_DISTRIBUTION = "sagemaker"
PREFIX = 8
"""A code hash must appear whole: no shorter piece of it (its first ``PREFIX`` hex digits) anywhere else."""
SYSTEM_DIRECTORIES = ("/proc/", "/sys/", "/dev/", "/run/", "/usr/", "/etc/", "/lib/", "/lib64/", "/bin/", "/sbin/")
"""Files here are the machine's (time zones, CA bundles, /proc counters), not inputs of a build."""


@dataclass
class Built:
    """What a build gives a local run."""

    pipeline_name: str
    definition: dict[str, Any]
    uploads: dict[str, bytes]
    cached: bool = False
    patched: tuple[str, ...] = ()
    """Files whose new content was patched into the cached definition instead of building it again."""
    rebuilt_because: str | None = None
    """Why the definition kept for this request was not used (None: there was none, or ``--rebuild``)."""


class _Stale(Exception):
    """A kept definition cannot be used; the message says which of its inputs changed."""


@dataclass
class _Reads:
    environ_before: dict[str, str]
    variables: dict[str, str | None] = field(default_factory=dict)
    whole_environment: bool = False
    slices: set[tuple[str, str]] = field(default_factory=set)
    """Parts of the environment enumerated by a reader known to use only them (``_slice_read_by``)."""
    opened: set[str] = field(default_factory=set)
    listed: set[str] = field(default_factory=set)
    readers: dict[str, set[str]] = field(default_factory=dict)
    """Project file -> what read it: ``HASH``, ``UPLOAD`` or ``OTHER``."""
    hashed: set[tuple[str, ...]] = field(default_factory=set)
    """The path lists the SDK's code hash was given."""
    outside: tuple[str, ...] = ()


_active: list[_Reads] = []

HASH, UPLOAD, OTHER = "hash", "upload", "other"
_HASH_MODULE = "sagemaker.core.workflow.utilities"
_UPLOAD_READERS = (("showcase.aws.session", "DefinitionSession", "upload_data"),)
_UPLOAD_PACKAGE = "s3transfer"
"""Code that reads a file only to upload its bytes: our deferred-upload session, and s3transfer (which boto3's
``upload_file`` uses, its bytes going to the ``PutObject`` or multipart calls a local build keeps)."""
_PLUMBING = {os.path.abspath(module.__file__) for module in (pathlib, io) if module.__file__}
"""Standard-library frames between a reader and ``open``: ``Path.read_bytes`` is its caller's read."""


def _function_code(module_name: str, *names: str) -> CodeType | None:
    found: Any = sys.modules.get(module_name)
    for name in names:
        found = getattr(found, name, None)
    return getattr(found, "__code__", None)


def _opened_by(frame: FrameType | None) -> tuple[str, tuple[str, ...] | None]:
    """What opened a file, from the frame that called ``open``: the SDK's code hash (with the path list it
    hashes), an upload, or anything else."""
    while frame is not None and frame.f_code.co_filename in _PLUMBING:
        frame = frame.f_back
    if frame is None:
        return OTHER, None
    code = frame.f_code
    if code is _function_code(_HASH_MODULE, "_hash_file"):
        caller = _function_code(_HASH_MODULE, "hash_files_or_dirs")
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


_ENVIRON_PLUMBING = {"<frozen os>", "<frozen _collections_abc>", os.__file__, _collections_abc.__file__}
_ENUMERATIONS = {"ItemsView.__iter__", "ValuesView.__iter__", "_Environ.copy"}
"""Frames of ``os.environ`` itself; those that read every variable while enumerating them."""


def _slice_read_by(frame: FrameType | None) -> tuple[str, str] | None:
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


def _environment_reader(frame: FrameType | None) -> tuple[bool, tuple[str, str] | None]:
    """Whether ``os.environ`` is being enumerated, and the slice its reader depends on (see ``_slice_read_by``)."""
    enumerating = False
    while frame is not None and frame.f_code.co_filename in _ENVIRON_PLUMBING:
        enumerating = enumerating or frame.f_code.co_qualname in _ENUMERATIONS
        frame = frame.f_back
    return enumerating, _slice_read_by(frame)


def _in_slice(name: str, part: tuple[str, str]) -> bool:
    kind, value = part
    if kind == "suffix":
        return name.lower().endswith(value)
    if kind == "prefix":
        return name.startswith(value)
    return name == value


def _slice_digest(environ: Mapping[str, str], part: tuple[str, str]) -> str:
    return _environment_digest({name: value for name, value in environ.items() if _in_slice(name, part)})


class _RecordingEnviron(os._Environ):
    """``os.environ`` while a build runs: every read is recorded with the value it had before the build, and
    every enumeration as a dependency on the whole environment, or on the slice of it its reader is known to
    use (``_slice_read_by``)."""

    def __getitem__(self, key: str) -> str:
        enumerating, part = _environment_reader(sys._getframe(1))
        if not (enumerating and part is not None):  # a known enumerator's reads are its slice's
            for reads in _active:
                reads.variables.setdefault(key, reads.environ_before.get(key))
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        _, part = _environment_reader(sys._getframe(1))
        for reads in _active:
            if part is None:
                reads.whole_environment = True
            else:
                reads.slices.add(part)
        return super().__iter__()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        if "r" in mode and "+" not in mode:
            path = os.path.abspath(os.fsdecode(args[0]))
            reader: tuple[str, tuple[str, ...] | None] | None = None
            for reads in _active:
                reads.opened.add(path)
                if path.startswith(reads.outside) or os.path.realpath(path).startswith(reads.outside):
                    continue
                reader = reader or _opened_by(sys._getframe(1))
                reads.readers.setdefault(path, set()).add(reader[0])
                if reader[1] is not None:
                    reads.hashed.add(reader[1])
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
    reads = _Reads(environ_before, outside=_outside_project())
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


def _local_path(path: str) -> str:
    """A path as the SDK's code hash reads it (``file://`` URLs unquoted)."""
    return unquote(urlparse(path).path) if path.lower().startswith("file://") else path


def _code_digest(paths: Iterable[str], contents: dict[str, bytes]) -> str | None:
    """The SDK's code hash (``hash_files_or_dirs``) of files only: the sha256 of each path, then its bytes, in
    the sorted order of the paths as given. ``contents`` holds bytes by absolute path (read when missing);
    None when a path is not a regular file (a directory is hashed by its tree, which is not patched)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        local = _local_path(path)
        name = os.path.abspath(local)
        if name not in contents:
            if not os.path.isfile(name):
                return None
            contents[name] = Path(name).read_bytes()
        digest.update(local.encode())
        digest.update(contents[name])
    return digest.hexdigest()


def _patch_plan(files: dict[str, str], imported: set[str], reads: _Reads, built: Built, text: str) -> dict[str, Any]:
    """Which of ``files`` (path -> sha256) a later run may patch in, and how (see the module's docstring)."""
    contents: dict[str, bytes] = {}
    hashes: list[dict[str, Any]] = []
    unprovable: set[str] = set()
    text = text.lower()
    keys = "\n".join(built.uploads).lower()
    for paths in sorted(reads.hashed):
        names = {os.path.abspath(_local_path(path)) for path in paths}
        digest = _code_digest(paths, contents)
        if (
            digest is None
            or digest not in text
            or text.count(digest[:PREFIX]) != text.count(digest)
            or keys.count(digest[:PREFIX]) != keys.count(digest)
            or any(digest[:PREFIX].encode() in data.lower() for data in built.uploads.values())
            or any(  # every object named after it holds one of its files, verbatim
                data not in [contents[name] for name in names] for uri, data in built.uploads.items() if digest in uri
            )
        ):
            unprovable |= names
            continue
        hashes.append({"paths": list(paths), "digest": digest, "files": sorted(names)})
    by_content: dict[str, list[str]] = {}
    for name, sha in files.items():
        by_content.setdefault(sha, []).append(name)
    patchable: dict[str, list[str]] = {}
    for name, sha in files.items():
        readers = reads.readers.get(name, set())
        own = [entry["digest"] for entry in hashes if name in entry["files"]]
        if (
            name in imported
            or name in unprovable
            or not own
            or HASH not in readers
            or not readers <= {HASH, UPLOAD}
            or len(by_content[sha]) > 1
        ):
            continue
        data = contents.get(name)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            continue  # changed while the build ran
        carriers = [uri for uri, body in built.uploads.items() if body == data]
        if (UPLOAD in readers) != bool(carriers) or not all(any(d in uri for d in own) for uri in carriers):
            continue
        patchable[name] = carriers
    return {"files": patchable, "hashes": [entry for entry in hashes if set(entry["files"]) & set(patchable)]}


class BuildCache:
    """Entries under ``root`` (``$SHOWCASE_HOME/definitions``), one per request."""

    def __init__(self, root: Path, digests: FileDigests) -> None:
        self.root = root
        self.digests = digests

    def build(self, request: dict[str, Any], build: Callable[[], Built], *, rebuild: bool = False) -> Built:
        """The cached result for ``request`` while its inputs are unchanged, or with changed code files patched
        in; otherwise ``build()``, recorded."""
        request = {
            **request,
            "cwd": os.getcwd(),
            "python": sys.executable,
            "python_version": sys.version,
            "format": FORMAT,
        }
        material = json.dumps(request, sort_keys=True, default=str)
        path = self.root / f"{hashlib.sha256(material.encode()).hexdigest()}.json"
        because = None
        if not rebuild:
            try:
                hit = self._load(path, request)
            except _Stale as stale:
                because = str(stale)
            else:
                if hit is not None:
                    return hit
        environ_before = dict(os.environ)
        with _recording(environ_before) as reads:
            built = build()
        self._save(path, request, built, reads)
        built.rebuilt_because = because
        return built

    def _load(self, path: Path, request: dict[str, Any]) -> Built | None:
        """The kept definition, current or with changed code files patched in; None when there is none;
        raises _Stale naming what changed when it cannot be used."""
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise _Stale(f"its cache entry {str(path)!r} cannot be read ({exc})") from None
        try:
            if entry["request"] != json.loads(json.dumps(request, default=str)):
                raise _Stale("its cache entry was made for another request")
            changed = self._changed(entry["inputs"])
            uploads = {uri: base64.b64decode(data) for uri, data in entry["uploads"].items()}
            built = Built(entry["pipeline_name"], entry["definition"], uploads, cached=True)
            if changed:
                patched = self._patch(entry, built, changed)
                self._write(path, entry)
                return patched
            self.digests.save()
            return built
        except (KeyError, TypeError, ValueError) as exc:
            raise _Stale(f"its cache entry is of another shape ({type(exc).__name__}: {exc})") from None
        except OSError as exc:  # a file gone while patching
            raise _Stale(f"{exc.filename or 'a file it read'} cannot be read ({exc.strerror})") from None

    def _changed(self, inputs: dict[str, Any]) -> list[str]:
        """The files whose content changed while every other input is current; raises _Stale naming the first
        other input that changed."""
        if inputs["sdk"] != sdk_version():
            raise _Stale(f"the SageMaker SDK changed ({inputs['sdk']} -> {sdk_version()})")
        if inputs["whole_environment"] and inputs["environment"] != _environment_digest(dict(os.environ)):
            raise _Stale("the environment changed (the build listed every variable)")
        for kind, value, digest in inputs["slices"]:
            if _slice_digest(os.environ, (kind, value)) != digest:
                which = {"suffix": f"ending in {value}", "prefix": f"starting with {value}"}.get(kind, value)
                raise _Stale(f"the environment variables {which} changed")
        for name, value in inputs["variables"].items():
            if os.environ.get(name) != value:
                raise _Stale(f"environment variable {name} changed")
        for directory, names in inputs["directories"].items():
            try:
                now = sorted(os.listdir(directory))
            except OSError as exc:
                raise _Stale(f"directory {directory!r} cannot be listed ({exc.strerror})") from None
            if now != names:
                differ = sorted(set(now) ^ set(names))
                raise _Stale(f"the names in {directory!r} changed ({', '.join(differ[:3]) or 'their order'})")
        changed = []
        for file, digest in inputs["files"].items():
            try:
                if self.digests.sha256(file) != digest:
                    changed.append(file)
            except OSError as exc:
                raise _Stale(f"{file!r} cannot be read ({exc.strerror})") from None
        return changed

    def _patch(self, entry: dict[str, Any], built: Built, changed: list[str]) -> Built:
        """``built`` with the new content of ``changed`` patched in, and ``entry`` updated to match; raises
        _Stale unless every changed file is one the build read only to hash and upload it."""
        plan = entry["patch"]
        unpatchable = sorted(set(changed) - set(plan["files"]))
        if unpatchable:
            raise _Stale(f"{os.path.relpath(unpatchable[0])} changed, and the build used it for more than its upload")
        contents = {name: Path(name).read_bytes() for name in changed}
        new_digests = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
        others = {sha for name, sha in entry["inputs"]["files"].items() if name not in contents}
        if any(
            new_digests[name] != self.digests.sha256(name) or new_digests[name] in others for name in changed
        ) or len(set(new_digests.values())) < len(changed):
            raise _Stale(
                f"{', '.join(sorted(os.path.relpath(name) for name in changed))} changed while read, or now hold "
                "the same bytes as another file the build read"
            )
        replaced: dict[str, str] = {}
        for hashed in plan["hashes"]:
            if set(hashed["files"]) & set(changed):
                digest = _code_digest(hashed["paths"], contents)
                if digest is None:
                    raise _Stale(f"the code hash of {', '.join(hashed['paths'])} no longer covers regular files only")
                replaced[hashed["digest"]] = digest
                hashed["digest"] = digest

        def renamed(text: str) -> str:
            for old, new in replaced.items():
                text = text.replace(old, new)
            return text

        definition = json.loads(renamed(json.dumps(built.definition)))
        carried = {uri: name for name in changed for uri in plan["files"][name]}
        uploads = {
            renamed(uri): contents[carried[uri]] if uri in carried else data for uri, data in built.uploads.items()
        }
        plan["files"] = {name: [renamed(uri) for uri in uris] for name, uris in plan["files"].items()}
        entry["inputs"]["files"].update(new_digests)
        entry["definition"] = definition
        entry["uploads"] = {uri: base64.b64encode(data).decode() for uri, data in uploads.items()}
        self.digests.save()
        names = tuple(sorted(os.path.relpath(name) for name in changed))
        return Built(built.pipeline_name, definition, uploads, cached=True, patched=names)

    def _save(self, path: Path, request: dict[str, Any], built: Built, reads: _Reads) -> None:
        outside = _outside_project()
        home = os.path.join(os.path.realpath(self.root.parent), "")
        modules = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
        imported = {os.path.abspath(name) for name in modules if isinstance(name, str)}
        candidates = imported | reads.opened
        files = sorted(name for name in candidates if _project_file(name, outside, home))
        directories = {}
        for directory in sorted(reads.listed):
            real = os.path.join(os.path.realpath(directory), "")
            if not real.startswith(outside) and not real.startswith(home) and os.path.isdir(directory):
                directories[directory] = sorted(os.listdir(directory))
        digests = {name: self.digests.sha256(name) for name in files}
        inputs = {
            "sdk": sdk_version(),
            "variables": dict(sorted(reads.variables.items())),
            "whole_environment": reads.whole_environment,
            "environment": _environment_digest(reads.environ_before) if reads.whole_environment else None,
            "slices": [[*part, _slice_digest(reads.environ_before, part)] for part in sorted(reads.slices)],
            "directories": directories,
            "files": digests,
        }
        self.digests.save()
        entry = {
            "request": json.loads(json.dumps(request, default=str)),
            "inputs": inputs,
            "pipeline_name": built.pipeline_name,
            "definition": built.definition,
            "uploads": {uri: base64.b64encode(data).decode() for uri, data in built.uploads.items()},
            "patch": _patch_plan(digests, imported, reads, built, json.dumps(built.definition)),
        }
        self._write(path, entry)

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".entry-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entry, out)
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
