"""What the endpoint's app speaks of ASGI: a request's headers and body, bounded, and a response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from showcase.serving.codec import MAX_PAYLOAD_BYTES

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
CLIENT_GONE = 499
"""What a request whose body never came completely counts as (nginx's "client closed request"); nothing is sent."""


class BodyTooLarge(Exception):
    """The body is larger than MAX_PAYLOAD_BYTES (declared or as it came)."""


class ClientGone(Exception):
    """The connection closed before the whole body came (the client left, or the server cut a slow body)."""


def headers_of(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def read_body(headers: dict[str, str], receive: Receive) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, headers: Headers, body: bytes) -> int:
    if status != 204:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status
