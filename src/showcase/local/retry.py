"""Step retry policies (``RetryPolicies``), mapped onto what can go wrong locally.

SageMaker retries a step only for the exception types its policies list; a job that fails on its own
(``ClientError``/``AlgorithmError``: bad script, bad data) is never retried. Locally:

===============================  ==================================================================
local failure                    matches ExceptionType
===============================  ==================================================================
``StepFailed`` from an executor  nothing (the job's own failure, like SageMaker's AlgorithmError),
                                 unless it carries ``exception_type`` naming one of the types below
``MemoryError``                  ``SageMaker.CAPACITY_ERROR``
``OSError`` (disk, descriptors)  ``SageMaker.RESOURCE_LIMIT``
any other exception              ``Step.SERVICE_FAULT``, ``SageMaker.JOB_INTERNAL_ERROR`` (a bug in the
                                 executor is the local "service" failing)
===============================  ==================================================================

``Step.THROTTLING`` never occurs locally. Waits follow ``IntervalSeconds * BackoffRate ** (attempt - 1)``,
capped at ``MAX_SLEEP_SECONDS`` so a local run stays quick; ``MaxAttempts`` counts retries as SageMaker
does (a policy with MaxAttempts 2 allows 3 runs in all); ``ExpireAfterMin`` bounds the total time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from showcase.errors import StepFailed

MAX_SLEEP_SECONDS = 1.0
SERVICE_FAULT = ("Step.SERVICE_FAULT", "SageMaker.JOB_INTERNAL_ERROR")


def exception_types(exc: BaseException) -> frozenset[str]:
    """The retry ExceptionTypes a local failure counts as."""
    if isinstance(exc, StepFailed):
        declared = getattr(exc, "exception_type", None)
        return frozenset({declared}) if isinstance(declared, str) else frozenset()
    if isinstance(exc, MemoryError):
        return frozenset({"SageMaker.CAPACITY_ERROR"})
    if isinstance(exc, OSError):
        return frozenset({"SageMaker.RESOURCE_LIMIT"})
    return frozenset(SERVICE_FAULT)


@dataclass(frozen=True)
class Policy:
    types: frozenset[str]
    interval: float
    backoff: float
    max_attempts: int | None
    expire_after_seconds: float | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Policy:
        expire = raw.get("ExpireAfterMin")
        return cls(
            types=frozenset(raw.get("ExceptionType", [])),
            interval=float(raw.get("IntervalSeconds", 1)),
            backoff=float(raw.get("BackoffRate", 2.0)),
            max_attempts=int(raw["MaxAttempts"]) if raw.get("MaxAttempts") is not None else None,
            expire_after_seconds=float(expire) * 60 if expire is not None else None,
        )


def next_wait(policies: list[dict[str, Any]], exc: BaseException, retries_so_far: int, elapsed: float) -> float | None:
    """Seconds to wait before the next attempt, or None if no policy retries this failure."""
    kinds = exception_types(exc)
    for policy in (Policy.parse(raw) for raw in policies):
        if not policy.types & kinds:
            continue
        if policy.max_attempts is not None and retries_so_far >= policy.max_attempts:
            return None
        if policy.expire_after_seconds is not None and elapsed >= policy.expire_after_seconds:
            return None
        return min(policy.interval * policy.backoff**retries_so_far, MAX_SLEEP_SECONDS)
    return None
