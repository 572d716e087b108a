"""The lineage of a registration: what a model package was made from, with the content hashes to prove it.

Nothing here knows the pipeline's step names. The lineage holds:

- ``Parameters``: the execution's parameter values;
- ``Artifacts``: every object the registration's own arguments name (model data, metrics documents, ...);
- ``Steps``: every finished step the registration depends on, directly or not, with its ``Inputs`` (the
  locations in the attributes that make up its cache key: SageMaker's "if this changes, the step reruns")
  and its ``Code`` (those inputs that are code: a processing input named ``code``, or a URI in the
  SDK's ``.../code/<sha256>/<file>`` layout).

A location is an ``s3://`` URI in the object store or an absolute path of a host file (such as a local copy
of the input data passed as a parameter). Its ``Sha256`` is the hex SHA-256 of the object's bytes (what
``sha256sum`` prints); for a prefix, the SHA-256 of its manifest: one ``<sha256>  <key below the prefix>``
line per object, sorted by key, newline-terminated; ``null`` when there is nothing to read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from showcase.errors import ShowcaseError
from showcase.local.jobs import JobContext, UpstreamStep
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.store import ObjectStore

CODE_URI = re.compile(r"/code/[0-9a-f]{64}/")
CHUNK = 1 << 20


def lineage(context: JobContext, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage document of the registration ``context`` runs; ``extra`` keys come first."""
    return {
        **extra,
        "PipelineName": context.pipeline_name,
        "PipelineExecutionId": context.execution_id,
        "StepName": context.step_name,
        "Parameters": dict(context.parameters),
        "Artifacts": [_entry(context.store, field, uri) for field, uri in locations(context.arguments)],
        "Steps": [_step(context.store, step) for step in context.upstream],
    }


def locations(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(field path, location)`` for every s3:// URI or existing absolute host file path inside ``value``."""
    if isinstance(value, str):
        if value.startswith("s3://") or _host_file(value):
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from locations(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from locations(item, f"{path}[{index}]")


def _host_file(value: str) -> bool:
    if not value.startswith("/") or PurePosixPath(value).is_relative_to(CONTAINER_ROOT):
        return False
    try:
        return Path(value).is_file()
    except OSError:
        return False


def _step(store: ObjectStore, step: UpstreamStep) -> dict[str, Any]:
    names = step.key_attributes if step.key_attributes is not None else tuple(sorted(step.arguments))
    found = list(locations({name: step.arguments[name] for name in names if name in step.arguments}))
    code = [(field, uri) for field, uri in found if _is_code(step.arguments, field, uri)]
    entry: dict[str, Any] = {"Name": step.name, "Type": step.type, "Status": step.status}
    if step.cached_from:
        entry["CachedFrom"] = step.cached_from
    entry["Inputs"] = [_entry(store, field, uri) for field, uri in found if (field, uri) not in code]
    entry["Code"] = [_entry(store, field, uri) for field, uri in code]
    return entry


def _is_code(arguments: Mapping[str, Any], field: str, uri: str) -> bool:
    if CODE_URI.search(uri):
        return True
    match = re.match(r"^ProcessingInputs\[(\d+)\]\.", field)
    inputs = arguments.get("ProcessingInputs")
    if not match or not isinstance(inputs, list):
        return False
    item = inputs[int(match.group(1))]
    return isinstance(item, Mapping) and item.get("InputName") == "code"


def _entry(store: ObjectStore, field: str, uri: str) -> dict[str, Any]:
    return {"Field": field, "Uri": uri, "Sha256": sha256_of(store, uri)}


def sha256_of(store: ObjectStore, uri: str) -> str | None:
    """The SHA-256 of an object, a prefix's manifest or a host file; None when there is nothing to read."""
    try:
        if not uri.startswith("s3://"):
            return _file_sha256(Path(uri))
        if not uri.endswith("/") and store.exists(uri):
            return _file_sha256(store.path_of(uri))
        prefix = uri.rstrip("/") + "/"
        objects = store.list(prefix)
        if not objects:
            return None
        manifest = "".join(f"{_file_sha256(store.path_of(obj))}  {obj[len(prefix) :]}\n" for obj in objects)
        return hashlib.sha256(manifest.encode()).hexdigest()
    except (OSError, ShowcaseError):
        return None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
