"""The names a local server answers to: the guard against DNS rebinding, for every server this project runs.

A page on another site can point a name of its own at 127.0.0.1 once it has loaded (DNS rebinding); the
visitor's browser then sends that page's requests to a server on this machine and lets the page read the
answers, as they look same-origin to it. Every such request carries the other site's name in its Host header,
so a server that answers only to its own names stops them all. ``HostGuard`` wraps any ASGI app (the
dashboard, the endpoint) and refuses, with one readable line and a 400, a request whose Host is not one of
``allowed_hosts``: the loopback names, the address the server was bound to, and what ``--allowed-host`` adds.
The port is not checked (``--port 0`` picks one; a browser sends the one it used).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
"""Bind addresses that name no host (every interface): a request's Host can never be them."""

_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[^\s:/?#@\[\]]+))(?::[0-9]{0,5})?")
_BARE_NAME = re.compile(r"[^\s:/?#@\[\]]+|[0-9a-f:.]*:[0-9a-f:.]*")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[..., Awaitable[None]]
"""Any ASGI app (the endpoint's, Starlette's): called with scope, receive and send."""


def host_name(header: str) -> str | None:
    """The name in a Host header, lower-cased, without its port or an IPv6 literal's brackets; None if malformed."""
    found = _HOST.fullmatch(header.strip().lower())
    if found is None:
        return None
    return found["ipv6"] or found["name"]


def allowed_name(text: str) -> str:
    """A name given to ``--allowed-host``: a host name or IP address, without a port; returned lower-cased.

    Raises ValueError naming what is wrong.
    """
    name = text.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not _BARE_NAME.fullmatch(name) or name in WILDCARD_ADDRESSES:
        raise ValueError(f"expected a host name or IP address without a port (e.g. myhost.lan), got {text!r}")
    return name


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The loopback names, the address the server is bound to (unless it is every interface), and ``extra``."""
    names = set(LOOPBACK_NAMES) | {allowed_name(name) for name in extra}
    if bound.strip("[]").lower() not in WILDCARD_ADDRESSES:
        names.add(allowed_name(bound))
    return frozenset(names)


class HostGuard:
    """ASGI middleware: pass a request on only when its Host names this server; lifespan events always pass."""

    def __init__(self, app: App, allowed: Iterable[str], flag: str = "--allowed-host") -> None:
        self.app = app
        self.allowed = frozenset(allowed)
        self.flag = flag
        self._accepted: set[bytes] = set()  # raw Host values already accepted: most requests skip the parsing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = self.refusal(_host_header(scope))
            if refusal is not None:
                await _refuse(scope, send, refusal)
                return
        await self.app(scope, receive, send)

    def refusal(self, raw: bytes | None) -> str | None:
        """Why a request with this Host header value is refused; None when it is accepted."""
        if raw is not None and raw in self._accepted:
            return None
        if raw is None:
            return "the request has no Host header; send the host and port you connected to (Host: 127.0.0.1:PORT)"
        text = raw.decode("latin-1")
        name = host_name(text)
        if name is None:
            return f"the Host header {text[:200]!r} is not a host name with an optional port"
        if name in WILDCARD_ADDRESSES:
            return f"{name} stands for every interface, not for this server: send the request to 127.0.0.1 instead"
        if name not in self.allowed:
            names = ", ".join(sorted(self.allowed))
            return (
                f"this server answers to {names}, not to the Host {name[:200]!r}; if you reach it by that name on "
                f"purpose, start it with {self.flag} {name[:200]}"
            )
        if len(self._accepted) < 64:
            self._accepted.add(raw)
        return None


def _host_header(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return None


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    body = (message + "\n").encode()
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
