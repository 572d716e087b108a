"""The one clock: the time now, in UTC, and the one way a time is written as text (ISO 8601)."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """The time now, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def timestamp(when: datetime | None = None, timespec: str = "microseconds", *, zulu: bool = False) -> str:
    """``when`` (now when not given) in UTC as ISO 8601 text to ``timespec`` (``"seconds"``, ``"milliseconds"``,
    ``"microseconds"``): ``2026-01-02T03:04:05.678901+00:00``; ``zulu`` ends it ``Z`` instead of ``+00:00``, as
    Model Monitor's ``inferenceTime`` (``2026-01-02T03:04:05.678Z``)."""
    text = (when or now()).astimezone(timezone.utc).isoformat(timespec=timespec)
    return text.removesuffix("+00:00") + "Z" if zulu else text
