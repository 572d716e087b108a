"""Bounds on what one HTTP connection may make a server hold: header size and count, and time.

uvicorn's httptools protocol buffers a request's head however long it grows and waits for it however slowly it
comes; gunicorn's ``limit_request_*`` settings apply to its own workers, not to uvicorn's. ``BoundedProtocol``
is uvicorn's protocol with ``Limits``: it counts the bytes of the request line and headers as they arrive (a
single endless header included, which the parser would otherwise keep growing), the header fields, and gives
the head and then the body a deadline. Every server here runs it: the endpoint's workers
(``serving.server``), the dashboard (``cli.dashboard``), through ``uvicorn_config`` or ``with_limits``.

A request over a bound is answered, then its connection is closed:

    414  the request line alone is over ``max_head_bytes``
    431  the request line and headers are over ``max_head_bytes``, or there are more than ``max_headers`` fields
    408  the head did not arrive within ``head_timeout_s`` (counted from the connection, then from a request's
         first byte), or the body within ``body_timeout_s`` of the head
    413  the body is over ``max_body_bytes`` (when set; the endpoint answers its own 6 MiB bound itself)

A connection that sent nothing by the head deadline is closed without an answer. Requests that keep within the
bounds cost two counters and no timer when each part arrives in one read, as nearly all do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = 16 * 1024
    """The request line and every header field together (gunicorn's limit_request_line is 4 KiB of it)."""
    max_headers: int = 100
    """Header fields in one request (gunicorn's limit_request_fields)."""
    head_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    """From the end of the head to the end of the body: SageMaker's own invocation timeout is 60 s."""
    max_body_bytes: int | None = None


class _Refused(Exception):
    """Raised inside a parser callback to stop the parse; the answer is in ``BoundedProtocol._pending``."""


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under ``limits`` (a class attribute: uvicorn builds one protocol per connection)."""

    limits: ClassVar[Limits] = Limits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head, self._head_begun, self._in_body = True, False, False
        self._head_raw = 0  # bytes received while the head was incomplete: an endless single header shows here
        self._head_bytes = self._header_count = self._body_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._pending: tuple[int, str] | None = None
        self._closed_by_us = False

    # -- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._head_timer = self.loop.call_later(self.limits.head_timeout_s, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closed_by_us:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_raw += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._pending is not None:
                self._refuse(*self._pending)
            else:  # as uvicorn answers a request its parser refuses
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head:
            if self._head_raw > self.limits.max_head_bytes:
                self._refuse(431, self._head_too_large())
            elif self._head_timer is None and (self._head_begun or self._head_raw):
                self._head_timer = self.loop.call_later(self.limits.head_timeout_s, self._head_timed_out)
        elif self._in_body and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_timed_out)

    # -- parser callbacks ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        self._head_bytes = self._header_count = self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_head_bytes:
            self._stop(414, f"the request line is longer than {self.limits.max_head_bytes} bytes")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_count > self.limits.max_headers:
            self._stop(431, f"the request has more than {self.limits.max_headers} header fields")
        if self._head_bytes > self.limits.max_head_bytes:
            self._stop(431, self._head_too_large())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel(self._head_timer)
        self._head_timer = None
        most = self.limits.max_body_bytes
        if most is not None:  # refused before the app starts on it
            declared = next((value for name, value in self.headers if name == b"content-length"), b"")
            if declared.isdigit() and int(declared) > most:
                self._stop(413, self._body_too_large())
        self._in_head, self._head_begun, self._in_body = False, False, True
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        most = self.limits.max_body_bytes
        if most is not None:
            self._body_bytes += len(body)
            if self._body_bytes > most:
                self._stop(413, self._body_too_large())
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head, self._in_body = True, False
        self._head_raw = 0
        self._cancel(self._body_timer)
        self._body_timer = None
        super().on_message_complete()

    # -- deadlines ------------------------------------------------------------------------------------

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._responding():  # an earlier request is still being answered: the head waits on the server
            self._head_timer = self.loop.call_later(self.limits.head_timeout_s, self._head_timed_out)
        elif not (self._head_begun or self._head_raw):
            self._closed_by_us = True
            self.transport.close()  # nothing was sent: no request to answer
        else:
            self._refuse(408, f"the request's headers did not arrive within {self.limits.head_timeout_s:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self._in_body and not self.transport.is_closing():
            self._refuse(408, f"the request body did not arrive within {self.limits.body_timeout_s:g} s")

    # -- refusing -------------------------------------------------------------------------------------

    def _stop(self, status: int, message: str) -> None:
        self._pending = (status, message)
        raise _Refused(message)

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` unless another answer is under way on this connection, then close.

        An app still working on the request (or on an earlier one) sees a disconnect, as when a client leaves.
        """
        self._pending = None
        self._closed_by_us = True
        self._cancel_timers()
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        self.logger.warning("%srefused with %d: %s", client, status, message)
        cycle = self.cycle
        if self._in_head:  # the request has no cycle yet; ``cycle`` is the one before it, if any
            answer = not self._responding()
        else:
            answer = cycle is not None and not cycle.response_started and not self.pipeline
        if answer:
            self.transport.write(_answer(status, message, self.server_state.default_headers))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_too_large(self) -> str:
        return f"the request line and headers are larger than {self.limits.max_head_bytes} bytes"

    def _body_too_large(self) -> str:
        return f"the request body is larger than {self.limits.max_body_bytes} bytes"

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            self._cancel(timer)
        self._head_timer = self._body_timer = None

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()


def _answer(status: int, message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = (message + "\n").encode()
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


def with_limits(limits: Limits) -> type[BoundedProtocol]:
    """``BoundedProtocol`` under other ``limits``, for uvicorn's ``http=``."""
    if limits == BoundedProtocol.limits:
        return BoundedProtocol
    return type("BoundedProtocol", (BoundedProtocol,), {"limits": limits})


def uvicorn_config(app: Any, limits: Limits = Limits(), **options: Any) -> Any:
    """A ``uvicorn.Config`` serving ``app`` through ``BoundedProtocol`` under ``limits`` (no WebSockets)."""
    import uvicorn

    return uvicorn.Config(app, http=with_limits(limits), ws="none", **options)
