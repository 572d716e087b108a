"""The one paginator: every item of a paged ``List*`` call, in boto3's ``NextToken`` convention.

It serves boto3 clients and the local Registry alike (they answer the same shapes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def paginate(
    call: Callable[..., Mapping[str, Any]],
    key: str,
    /,
    *,
    limit: int | None = None,
    page_size: int | None = None,
    **request: Any,
) -> Iterator[Any]:
    """The items under ``key`` of ``call(**request)``, page after page, until no ``NextToken`` comes back.

    With ``page_size`` each request asks for that many (``MaxResults``), or for what ``limit`` still allows.
    """
    seen = 0
    while limit is None or seen < limit:
        if page_size is not None:
            request["MaxResults"] = page_size if limit is None else min(page_size, limit - seen)
        page = call(**request)
        items = page.get(key, [])
        seen += len(items)
        yield from items
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token
