"""The definition cache: a local run reuses the definition it built last time while none of its inputs changed.

Building a definition imports the SDK and runs the user's module, seconds that have nothing to do with the
jobs. ``BuildCache.build`` records, while it builds (``recording``), everything the build read, and reuses
the result only while all of it is the same (``inputs``):

- the request: module name, ``-k`` kwargs, region and account, working directory, interpreter and its version;
- every file of the project the build imported (each module in ``sys.modules`` whose file is outside the
  interpreter's own directories, site-packages and the system's directories: the pipeline module, the modules
  it imports, this package's own modules) and every such file it opened (the code files it uploads, a config
  file it reads), by content;
- every directory of the project it listed (a ``source_dir`` whose files are uploaded), by its names;
- every environment variable it read (``os.environ[...]``, ``.get``, ``in``, ``os.getenv``), by a digest of
  its value or its absence as it was before the build began, never the value; a build that enumerates the
  environment depends on all of it, unless the code enumerating it is known to use a slice of it alone:
  urllib's proxy look-up (which botocore makes for every client) the variables named ``*_proxy``, botocore's
  instance-metadata fetcher ``AWS_EC2_METADATA_DISABLED``, tqdm the ``TQDM_`` ones; a variable nothing read
  (the shell's ``OLDPWD``) is then no input. The variables a local build sets for itself (the region,
  placeholder credentials in place of the user's) are no inputs either: the module never sees what they held;
- the SageMaker SDK's installed version.

A changed code file the build read only to hash and upload it is patched in rather than built (``patching``).
Checking an entry reads no unchanged file (``showcase.local.digests``) and imports neither the SDK nor the
user's module. What the rule cannot see: environment read by C code (``getenv(3)``), files opened by C code,
and modules a build tried and failed to import (a new file that would now shadow or satisfy one); ``--rebuild``
builds regardless.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showcase.builder import inputs, patching
from showcase.builder.inputs import Stale
from showcase.builder.modules import Built
from showcase.builder.recording import Reads, recording
from showcase.files import write_json_atomically

if TYPE_CHECKING:  # the SDK v2 environment's build imports this module, and nothing of showcase.local
    from showcase.local.digests import FileDigests

FORMAT = 4
"""The entries' shape; entries of an earlier one are removed when a build saves (format 3 kept variables'
values)."""


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
            except Stale as stale:
                because = str(stale)
            else:
                if hit is not None:
                    return hit
        with recording(inputs.outside_project()) as reads:
            built = build()
        if built.recorded is None:
            recorded, plan = inputs_of(reads, built, self.root.parent, self.digests)
        else:  # built in the SDK v2 environment, which recorded what it read
            recorded, plan = built.recorded
        self.digests.save()
        entry = {
            "request": json.loads(json.dumps(request, default=str)),
            "inputs": recorded,
            "pipeline_name": built.pipeline_name,
            "definition": built.definition,
            "uploads": {uri: base64.b64encode(data).decode() for uri, data in built.uploads.items()},
            "patch": plan,
        }
        self._write(path, entry)
        self._remove_earlier_formats()
        built.rebuilt_because = because
        return built

    def _load(self, path: Path, request: dict[str, Any]) -> Built | None:
        """The kept definition, current or with changed code files patched in; None when there is none;
        raises Stale naming what changed when it cannot be used."""
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise Stale(f"its cache entry {str(path)!r} cannot be read ({exc})") from None
        try:
            if entry["request"] != json.loads(json.dumps(request, default=str)):
                raise Stale("its cache entry was made for another request")
            changed = inputs.changed_files(entry["inputs"], self.digests)
            uploads = {uri: base64.b64decode(data) for uri, data in entry["uploads"].items()}
            sdk = entry["inputs"]["sdk"]
            built = Built(entry["pipeline_name"], entry["definition"], uploads, cached=True, sdk=sdk)
            if changed:
                built = patching.patch(entry, built, changed, self.digests)
                self._write(path, entry)
            self.digests.save()
            return built
        except (KeyError, TypeError, ValueError) as exc:
            raise Stale(f"its cache entry is of another shape ({type(exc).__name__}: {exc})") from None
        except OSError as exc:  # a file gone while patching
            raise Stale(f"{exc.filename or 'a file it read'} cannot be read ({exc.strerror})") from None

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, entry, indent=None)

    def _remove_earlier_formats(self) -> None:
        """Entries an earlier version wrote, which this one never reads (format 3 kept variables' values)."""
        for path in self.root.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, AttributeError, TypeError):
                kept = json.loads(path.read_text(encoding="utf-8"))["request"].get("format")
                if isinstance(kept, int) and kept < FORMAT:
                    path.unlink()


def inputs_of(
    reads: Reads, built: Built, home: Path | None, digests: inputs.Digests
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a cache entry keeps of the build that made ``reads`` and ``built`` in this process: its inputs (files
    under ``home``, the state directory, left out) and its patch plan."""
    modules = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    imported = {os.path.abspath(name) for name in modules if isinstance(name, str)}
    recorded = inputs.recorded(reads, imported, home, digests)
    return recorded, patching.patch_plan(recorded["files"], imported, reads, built)
