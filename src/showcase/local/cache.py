"""Step caching with SageMaker's semantics.

A step whose ``CacheConfig.Enabled`` is true and whose step type is ``cacheable`` reuses the properties of
the newest Succeeded (or Cached) run of a step of the same pipeline with the same cache key that ended
within ``ExpireAfter``; it then runs no job and ends ``Cached``.

The cache key is what SageMaker documents ("Default cache key attributes by pipeline step type"): the step
type and the *resolved* values of the attributes that, if changed, rerun the step — for Processing
``AppSpecification``, ``Environment``, ``ProcessingInputs``; for Training ``AlgorithmSpecification``,
``CheckpointConfig``, ``DebugHookConfig``, ``DebugRuleConfigurations``, ``Environment``, ``HyperParameters``,
``InputDataConfig``; for Tuning ``HyperParameterTuningJobConfig``, ``TrainingJobDefinition(s)`` (whose
``OutputDataConfig`` is part of them); for Transform ``DataProcessing``, ``Environment``, ``ModelName``,
``TransformInput``; for QualityCheck its check job (``AppSpecification``, ``Environment``, ``ProcessingInputs``,
``ProcessingResources``: SageMaker's QualityCheckConfig and CheckJobConfig as the definition spells them) and
``SkipCheck``, ``RegisterNewBaseline``, ``ModelPackageGroupName``, ``SuppliedBaselineConstraints``,
``SuppliedBaselineStatistics``. Each step type declares its own (``StepType.cache_key``, in its module of
``showcase.local.steps``). Outputs (which usually embed the execution id) are not part of the key, so a cache hit
points at the earlier execution's outputs, as on SageMaker. A step type that declares none uses all its arguments.

One deliberate difference: SageMaker keys on input *URIs*, so new data at an unchanged URI is a stale hit.
Locally every ``s3://`` URI in the key attributes is also hashed by content (every object under it in the
object store; JSON-quoted ones too, as script mode's ``sagemaker_submit_directory``, so changed training code
reruns the step), and so is every absolute path of an existing local file (a local copy of the input data
passed as a parameter), so changed data always reruns the step. Checking that costs little on large inputs:
each file's digest is remembered with its inode, size, modification and change times (``digests.py``) and the
file is read again only when one of those moved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from showcase.errors import DefinitionError, ShowcaseError
from showcase.local.digests import FileDigests
from showcase.local.record import ExecutionRecord, StepRecord
from showcase.local.steptype import StepType
from showcase.statuses import DONE

_DURATION = re.compile(
    r"^P?(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$",
    re.IGNORECASE,
)


class ContentReader(Protocol):
    """The part of the object store the cache key reads."""

    def list(self, uri: str) -> Iterable[str]: ...

    def path_of(self, uri: str) -> Path: ...


def expire_after(text: Any) -> timedelta | None:
    """``"P30D"``, ``"PT1H"``, ``"30d"``, ``"T16m"`` -> timedelta; None when absent (never expires)."""
    if text is None:
        return None
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groupdict().values()):
        raise DefinitionError(f"CacheConfig ExpireAfter {text!r} is not an ISO 8601 duration such as 'P30D'")
    n = {key: int(value or 0) for key, value in match.groupdict().items()}
    days = n["y"] * 365 + n["mo"] * 30 + n["w"] * 7 + n["d"]
    return timedelta(days=days, hours=n["h"], minutes=n["mi"], seconds=n["s"])


def cache_key(
    step_type: StepType, arguments: dict[str, Any], store: ContentReader, digests: FileDigests | None = None
) -> str:
    """The key of a step run: its type, the resolved key attributes and the content of their inputs."""
    names = step_type.cache_key if step_type.cache_key is not None else tuple(sorted(arguments))
    attributes = {name: arguments.get(name) for name in names}
    digests = digests or FileDigests()
    contents = {uri: _content_digest(uri, store, digests) for uri in sorted(set(_locations(attributes)))}
    digests.save()
    material = json.dumps([step_type.name, attributes, contents], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def _locations(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith('"s3://'):  # JSON-quoted, as sagemaker_submit_directory
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, str) and (value.startswith("s3://") or (value.startswith("/") and Path(value).is_file())):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _locations(item)
    elif isinstance(value, list):
        for item in value:
            yield from _locations(item)


def _content_digest(uri: str, store: ContentReader, digests: FileDigests) -> str:
    if not uri.startswith("s3://"):
        return digests.sha256(uri)
    digest = hashlib.sha256()
    try:
        for key in sorted(store.list(uri)):
            digest.update(key.encode() + b"\0" + bytes.fromhex(digests.sha256(store.path_of(key))))
    except (OSError, ShowcaseError):  # not in the store (e.g. a public dataset URI): key on the URI alone
        return "unreadable"
    return digest.hexdigest()


def find_hit(
    key: str, pipeline_name: str, ttl: timedelta | None, at: datetime, history: Iterable[ExecutionRecord]
) -> tuple[ExecutionRecord, StepRecord] | None:
    """The newest earlier step run with this key whose end is within ``ttl`` of ``at``."""
    best: tuple[ExecutionRecord, StepRecord] | None = None
    for record in history:
        if record.pipeline_name != pipeline_name:
            continue
        for step in record.steps:
            if step.cache_key != key or step.status not in DONE or step.end is None:
                continue
            if ttl is not None and at - step.end > ttl:
                continue
            if best is None or step.end > (best[1].end or step.end):
                best = (record, step)
    return best
