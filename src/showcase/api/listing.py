"""SageMaker's List* conventions: filters by creation time, a sort key and order, ``MaxResults`` and ``NextToken``."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from showcase.api.errors import validation

T = TypeVar("T")


def page(
    items: Sequence[T], params: dict[str, Any], *, default: int = 10, maximum: int = 100
) -> tuple[list[T], str | None]:
    """One page of ``items`` after ``NextToken``, at most ``MaxResults``; the token of the next page (or None)."""
    limit = params.get("MaxResults") or default
    if not 1 <= limit <= maximum:
        raise validation(f"MaxResults must be from 1 to {maximum}, got {limit}")
    start = _offset(params.get("NextToken"))
    end = start + limit
    return list(items[start:end]), _token(end) if end < len(items) else None


def with_token(result: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        result["NextToken"] = token
    return result


def created_between(params: dict[str, Any], after: str, before: str) -> Callable[[datetime | None], bool]:
    """A test of a creation time against the request's ``<after>``/``<before>`` filters (exclusive, as SageMaker)."""
    low, high = params.get(after), params.get(before)

    def keep(moment: datetime | None) -> bool:
        if moment is None:
            return low is None and high is None
        return (low is None or moment > aware(low)) and (high is None or moment < aware(high))

    return keep


def sorted_by(items: list[T], params: dict[str, Any], keys: dict[str, Callable[[T], Any]], default: str) -> list[T]:
    """``items`` sorted by ``SortBy`` (one of ``keys``) in ``SortOrder`` (SageMaker's default: Descending)."""
    sort_by = params.get("SortBy") or default
    if sort_by not in keys:
        raise validation(f"SortBy must be one of {', '.join(keys)}, got {sort_by!r}")
    order = params.get("SortOrder") or "Descending"
    if order not in ("Ascending", "Descending"):
        raise validation(f"SortOrder must be Ascending or Descending, got {order!r}")
    return sorted(items, key=keys[sort_by], reverse=order == "Descending")


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise validation(f"NextToken {token!r} was not returned by this API; pass the NextToken of the previous page")
    return offset
