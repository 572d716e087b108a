"""Patching a changed code file into a kept definition instead of building it again.

One kind of change is patched in rather than built: a code file the build read only to hash it and upload it
(``processor.run(code=...)`` in a pipeline names the upload ``<pipeline>/code/<sha256>/<file>``, the sha256 of
the file's path and bytes). A file is patchable only when all of this held for the build (``recording`` tells
who read each file):

- it was read by the code hash and, at most, by an upload; never imported, never opened by anything else;
- every code hash that read it covered regular files only, and its digest, computed again from the path
  list, appears in the definition in full and nowhere in part (not its first 8 digits alone, in either
  case), and in no uploaded object's bytes; every object named after it holds one of its files' bytes;
- the objects holding its bytes (when it was uploaded) are named after one of those digests, and no other
  file the build read has the same bytes.

When every changed input is such a file, the entry's definition and uploads get the new digests in place of
the old, and the new bytes in place of the old object, without importing the SDK: what a build would have
produced, byte for byte. Anything else changed (a ``source_dir`` archived into a tar.gz, a ``ModelTrainer``'s
code under a job name made at build time, a script the module reads itself): the definition is built again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from showcase.builder.inputs import Digests, Stale
from showcase.builder.modules import Built
from showcase.builder.recording import HASH, UPLOAD, Reads

PREFIX = 8
"""A code hash must appear whole: no shorter piece of it (its first ``PREFIX`` hex digits) anywhere else."""


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


def _provable_hashes(reads: Reads, built: Built, contents: dict[str, bytes]) -> tuple[list[dict[str, Any]], set[str]]:
    """The code hashes a patch may redo (their paths, digest and files), and the files of those it may not."""
    text = json.dumps(built.definition).lower()
    keys = "\n".join(built.uploads).lower()
    hashes: list[dict[str, Any]] = []
    unprovable: set[str] = set()
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
    return hashes, unprovable


def patch_plan(files: dict[str, str], imported: set[str], reads: Reads, built: Built) -> dict[str, Any]:
    """Which of ``files`` (path -> sha256) a later run may patch in, and how (see the module's docstring)."""
    contents: dict[str, bytes] = {}
    hashes, unprovable = _provable_hashes(reads, built, contents)
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


def _new_contents(entry: dict[str, Any], changed: list[str], digests: Digests) -> dict[str, bytes]:
    """The new bytes of ``changed``; raises Stale unless each is patchable and unlike every other file read."""
    unpatchable = sorted(set(changed) - set(entry["patch"]["files"]))
    if unpatchable:
        raise Stale(f"{os.path.relpath(unpatchable[0])} changed, and the build used it for more than its upload")
    contents = {name: Path(name).read_bytes() for name in changed}
    new_digests = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    others = {sha for name, sha in entry["inputs"]["files"].items() if name not in contents}
    if any(new_digests[name] != digests.sha256(name) or new_digests[name] in others for name in changed) or len(
        set(new_digests.values())
    ) < len(changed):
        raise Stale(
            f"{', '.join(sorted(os.path.relpath(name) for name in changed))} changed while read, or now hold "
            "the same bytes as another file the build read"
        )
    return contents


def patch(entry: dict[str, Any], built: Built, changed: list[str], digests: Digests) -> Built:
    """``built`` with the new content of ``changed`` patched in, and ``entry`` updated to match; raises
    Stale unless every changed file is one the build read only to hash and upload it."""
    plan = entry["patch"]
    contents = _new_contents(entry, changed, digests)
    replaced: dict[str, str] = {}
    for hashed in plan["hashes"]:
        if set(hashed["files"]) & set(changed):
            digest = _code_digest(hashed["paths"], contents)
            if digest is None:
                raise Stale(f"the code hash of {', '.join(hashed['paths'])} no longer covers regular files only")
            replaced[hashed["digest"]] = digest
            hashed["digest"] = digest

    def renamed(text: str) -> str:
        for old, new in replaced.items():
            text = text.replace(old, new)
        return text

    definition = json.loads(renamed(json.dumps(built.definition)))
    carried = {uri: name for name in changed for uri in plan["files"][name]}
    uploads = {renamed(uri): contents[carried[uri]] if uri in carried else data for uri, data in built.uploads.items()}
    plan["files"] = {name: [renamed(uri) for uri in uris] for name, uris in plan["files"].items()}
    entry["inputs"]["files"].update({name: hashlib.sha256(data).hexdigest() for name, data in contents.items()})
    entry["definition"] = definition
    entry["uploads"] = {uri: base64.b64encode(data).decode() for uri, data in uploads.items()}
    names = tuple(sorted(os.path.relpath(name) for name in changed))
    return Built(built.pipeline_name, definition, uploads, cached=True, patched=names, sdk=built.sdk)
