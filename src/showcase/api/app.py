"""The local API as a plain ASGI app: one port for S3, SageMaker, SageMaker Runtime, STS, IAM, Lambda and SQS.

Per request: check ``Host``; tell the service and the operation (``wire``); read the body — except for
PutObject and UploadPart, whose body the handler streams into the object store as it arrives; parse the
parameters; run the handler from ``operations.OPERATIONS`` (blocking ones on a thread, so the event loop
keeps answering); serialize its result in the service's protocol, or stream the file it names (GetObject).
Every error becomes AWS's error shape for the service: the caller prints one line and the service stays up.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers, MultiDict

from showcase.api import wire
from showcase.api.errors import ApiError, from_showcase_error, internal, unknown_operation, unknown_service
from showcase.api.hosts import host_allowed, virtual_bucket
from showcase.api.operations import OPERATIONS, STREAMED
from showcase.api.state import Call, FileSlice, Identity, Reply, State
from showcase.errors import ShowcaseError
from showcase.settings import Settings

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest body read whole (a definition, a DeleteObjects list, an InvokeEndpoint payload); PutObject and
UploadPart stream theirs."""
CHUNK = 1024 * 1024


class ClientGone(Exception):
    """The client closed the connection before its body arrived whole."""


def create_app(settings: Settings, identity: Identity | None = None) -> ApiApp:
    """The API over ``settings.home``; ``identity`` is who STS says the caller is."""
    return ApiApp(State(settings, identity or Identity(settings.account), OPERATIONS))


class ApiApp:
    def __init__(self, state: State) -> None:
        self.state = state
        self._threads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                threading.Thread(target=_warm_models, name="warm-models", daemon=True).start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._threads.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        request = _request(scope)
        if not host_allowed(request.headers.get("Host", ""), scope["server"][1] if scope.get("server") else 0):
            headers = [("Content-Type", "text/plain"), ("Connection", "close")]
            await _send(send, 403, headers, b"Host header not allowed\n", head=False)
            return
        seen, body = _Seen(), _Body(receive)
        response: _Outgoing
        try:
            reply = await self._answer(request, body, request_id, seen)
            response = _response(seen.operation, reply, request_id)
        except ApiError as exc:
            response = _error(seen, exc, request_id)
        except ShowcaseError as exc:
            response = _error(seen, from_showcase_error(exc, seen.service), request_id)
        except ClientGone:
            return
        except Exception as exc:  # the outermost boundary: log it whole, answer one line
            logger.exception("%s %s failed", seen.service, seen.name or request.raw_path)
            response = _error(seen, internal(seen.service, type(exc).__name__), request_id)
        logger.info("%s %s %s -> %d", request.method, seen.service, seen.name or "-", response.status)
        head = request.method == "HEAD"
        if not body.done:  # refused before its body was read: the connection cannot carry another request
            response = _Outgoing(
                response.status, [*response.headers, ("Connection", "close")], response.body, response.file
            )
        if response.file is not None:
            await _stream_file(send, response.status, response.headers, response.file, head=head)
        else:
            await _send(send, response.status, response.headers, response.body, head=head)

    async def _answer(self, request: wire.WireRequest, body: _Body, request_id: str, seen: _Seen) -> Reply:
        """Which service and operation (noted in ``seen``), then the handler's reply (ApiError when refused)."""
        seen.service = wire.service_of(request)
        if seen.service == "s3" and request.method == "PUT":  # PutObject and UploadPart stream their body
            operation, uri_params = wire.operation_of(wire.service_model("s3"), request)
            if operation.name in STREAMED:
                seen.operation, params = operation, wire.parse(operation, request, uri_params)
                call = Call(self.state, "s3", seen.name, params, request.headers, request_id, body.chunks())
                return await self._run(seen, call)
        request = request.with_body(await _read_body(request, body))
        seen.service = wire.service_of(request)  # a query protocol's Action is in the body
        model = wire.model_for(seen.service, request) if seen.service in wire.SERVED else None
        if model is None:
            raise _not_served(seen.service, request)
        seen.operation, uri_params = wire.operation_of(model, request)
        params = wire.parse(seen.operation, request, uri_params)
        return await self._run(seen, Call(self.state, seen.service, seen.name, params, request.headers, request_id))

    async def _run(self, seen: _Seen, call: Call) -> Reply:
        handler = OPERATIONS.get((seen.service, seen.name))
        if handler is None:
            raise unknown_operation(seen.operation.service_model, seen.name)
        if inspect.iscoroutinefunction(handler):
            out = await handler(call)
        else:
            out = await asyncio.get_running_loop().run_in_executor(self._threads, functools.partial(handler, call))
        return out if isinstance(out, Reply) else Reply(out)


@dataclass(frozen=True)
class _Outgoing:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    file: FileSlice | None = None
    """Sent as the body instead of ``body`` (GetObject)."""


def _response(operation: Any, reply: Reply, request_id: str) -> _Outgoing:
    if reply.raw is not None:
        return _Outgoing(*reply.raw)
    response = wire.serialize(operation, reply.result, request_id)
    return _Outgoing(reply.status or response.status, response.headers, response.body or b"", reply.file)


@dataclass
class _Seen:
    """What is known of a request so far: its error is answered in that service's shape."""

    service: str = "s3"
    operation: Any = None

    @property
    def name(self) -> str:
        return str(self.operation.name) if self.operation is not None else ""


def _error(seen: _Seen, error: ApiError, request_id: str) -> _Outgoing:
    model = seen.operation.service_model if seen.operation is not None else wire.known_model(seen.service)
    operation = seen.operation if model is not None and seen.operation is not None else None
    if model is None:
        response = wire.generic_error(error, request_id, xml=False)
    else:
        response = wire.serialize_error(model, operation, error, request_id)
    return _Outgoing(response.status, response.headers, response.body or b"")


def _not_served(service: str, request: wire.WireRequest) -> ApiError:
    """The error for a service the local API does not serve, in that service's own shape when botocore knows it."""
    model = wire.known_model(service)
    if model is None:
        target = request.headers.get("X-Amz-Target", "")
        return unknown_service(service, target.rpartition(".")[2] or f"{request.method} {request.raw_path}")
    try:
        operation, _ = wire.operation_of(model, request)
    except ApiError as exc:
        return exc
    return unknown_operation(model, operation.name)


def _request(scope: Scope) -> wire.WireRequest:
    headers = Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]])
    raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1") or "/"
    query = scope.get("query_string", b"").decode("latin-1")
    from urllib.parse import parse_qsl

    args = MultiDict(parse_qsl(query, keep_blank_values=True))
    bucket = virtual_bucket(headers.get("Host", ""))
    if bucket is not None:  # <bucket>.localhost/<key> is /<bucket>/<key>
        raw_path = f"/{bucket}{raw_path}"
    host = headers.get("Host", "127.0.0.1")
    return wire.WireRequest(scope["method"], host, raw_path, args, headers, values=MultiDict(args))


class _Body:
    """The request body as ASGI delivers it; ``done`` once the last chunk was received."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            self.done = not message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk:
                yield chunk


async def _read_body(request: wire.WireRequest, body: _Body) -> bytes:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError("EntityTooLarge", f"a request body of this operation may hold {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in body.chunks():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError("EntityTooLarge", f"a request body of this operation may hold {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(send: Send, status: int, headers: list[tuple[str, str]], body: bytes, *, head: bool) -> None:
    bodiless = status in (204, 304)  # HTTP forbids a body (and its length) on these
    if head or bodiless:
        body = b""
    wire_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
    if bodiless:
        wire_headers = [(name, value) for name, value in wire_headers if name != b"content-length"]
    elif not any(name == b"content-length" for name, _ in wire_headers):
        wire_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": wire_headers})
    await send({"type": "http.response.body", "body": body})


async def _stream_file(send: Send, status: int, headers: list[tuple[str, str]], part: FileSlice, *, head: bool) -> None:
    """Send a file's byte range in 1 MiB chunks (the object is never held whole in memory)."""
    wire_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
    wire_headers = [(name, value) for name, value in wire_headers if name != b"content-length"]
    wire_headers.append((b"content-length", str(part.length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": wire_headers})
    if head or part.length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    with open(part.path, "rb") as handle:
        handle.seek(part.offset)
        left = part.length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:  # the file shrank under us: end the body short, the client sees a short read
                break
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
    if left > 0:
        await send({"type": "http.response.body", "body": b""})


def _warm_models() -> None:
    """Load the served services' models before the first request of each needs them."""
    try:
        wire.warm()
    except Exception:  # a model that fails to load is reported by the request that needs it
        logger.debug("could not preload the service models", exc_info=True)
    logger.debug("service models loaded (pid %d)", os.getpid())
