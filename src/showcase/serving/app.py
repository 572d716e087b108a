"""The endpoint as a plain ASGI app: the XGBoost container's routes plus the SageMaker Runtime API path.

    GET  /ping                                 200 once the model is loaded (it is, before a worker serves)
    GET  /execution-parameters                 batch transform hints, as the container
    POST /invocations                          the container contract (see ``codec``)
    POST /endpoints/{EndpointName}/invocations the Runtime API (see ``runtime_api``)

No framework: routing is four comparisons, and a framework's request objects would cost more than the
prediction of one row. Each worker holds one model; a daemon thread watches ``deployment.json`` and swaps the
model in place once the new one has loaded and answered a probe prediction, so a redeploy fails no request and
a model that cannot load leaves the old one serving (the refusal is logged and written to the worker file).

A large body (more than ``LARGE_BODY_BYTES``) is decoded, predicted and encoded on one of the worker's threads
(as many as there are cores): Arrow's CSV reader and number formatting and ``inplace_predict`` release the GIL,
so one worker uses every core when it holds several batches at once (the keep-alive connections of two clients
may well land on the same worker), and its event loop keeps answering small requests meanwhile. Small bodies
stay on the loop, where ``Batcher`` predicts those in hand together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from showcase.serving import runtime_api
from showcase.serving.batching import Batcher, predict_alone
from showcase.serving.capture import CaptureWriter
from showcase.serving.codec import (
    CSV,
    MAX_PAYLOAD_BYTES,
    RESPONSE_CONTENT_TYPES,
    RequestError,
    accept_of,
    content_type_of,
    decode,
    encode,
)
from showcase.serving.deployment import CaptureConfig, Deployment, EndpointPaths, read_deployment
from showcase.serving.errors import ModelLoadError, ServingError
from showcase.serving.metrics import WorkerMetrics
from showcase.serving.model import LoadedModel, load_model
from showcase.store import ObjectStore

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_RUNTIME_PREFIX, _RUNTIME_SUFFIX = "/endpoints/", "/invocations"
LARGE_BODY_BYTES = 16 * 1024
"""From this size a body is answered on a worker thread; below it, on the event loop with the batcher."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    body: bytes
    model_package_arn: str = ""

    def headers(self) -> Headers:
        """Content-Type, and which model package answered (a local aid; SageMaker sends no such header)."""
        headers = [(b"content-type", self.content_type.encode())] if self.content_type else []
        if self.model_package_arn:
            headers.append((b"x-showcase-model-package", self.model_package_arn.encode()))
        return headers


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The connection closed before the whole body came (the client left, or the server cut a slow body)."""


CLIENT_GONE = 499
"""What a request whose body never came completely counts as (nginx's "client closed request"); nothing is sent."""


class EndpointApp:
    """One endpoint's ASGI app; build it with ``from_home`` in each worker process."""

    def __init__(self, paths: EndpointPaths, store: ObjectStore, deployment: Deployment, model: LoadedModel) -> None:
        self.paths = paths
        self.store = store
        self.endpoint_name = deployment.endpoint_name
        self.model = model
        self.metrics = WorkerMetrics(paths.workers_dir)
        self.metrics.set_model(model.model_package_arn, model.generation)
        self.capture = self._capture_writer(deployment.capture)
        self._next_capture: CaptureConfig | None = None
        self.batcher = Batcher(lambda: self.model)
        self._threads = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="batch")
        self.default_accept = accept_of(os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or CSV)
        self._stop = threading.Event()
        self._watched: tuple[int, int] | None = self._stat()

    @classmethod
    def from_home(cls, paths: EndpointPaths, store: ObjectStore) -> EndpointApp:
        deployment = read_deployment(paths)
        if deployment is None:
            raise ServingError(f"{paths.deployment_file} does not exist; deploy the endpoint first")
        return cls(paths, store, deployment, _load_with_fallback(deployment))

    # -- model swaps --------------------------------------------------------------------------------

    def start_watching(self, interval_s: float = 0.2) -> None:
        threading.Thread(target=self._watch, args=(interval_s,), name="deployment-watcher", daemon=True).start()

    def stop_watching(self) -> None:
        self._stop.set()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.paths.deployment_file.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _watch(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.metrics.write_if_due()  # the last requests before a quiet spell reach the file too
            current = self._stat()
            if current is not None and current != self._watched:
                self._watched = current
                self.reload()

    def reload(self) -> bool:
        """Swap to the model ``deployment.json`` names, if it is new and loads; True when swapped."""
        deployment = read_deployment(self.paths)
        if deployment is None or deployment.generation == self.model.generation:
            return False
        try:
            model = load_model(
                deployment.model_dir,
                model_package_arn=deployment.model_package_arn,
                generation=deployment.generation,
                unpickle=deployment.unpickle,
            )
        except ModelLoadError as exc:
            logger.error("worker %d keeps %s: %s", os.getpid(), self.model.model_package_arn, exc)
            self.metrics.set_model(self.model.model_package_arn, self.model.generation, swap_error=str(exc))
            return False
        self.model = model  # one reference assignment: a request uses either the old model or the new one
        self._next_capture = deployment.capture
        self.metrics.set_model(model.model_package_arn, model.generation)
        logger.info("worker %d now serves %s", os.getpid(), model.model_package_arn)
        return True

    def _capture_writer(self, config: CaptureConfig) -> CaptureWriter | None:
        return CaptureWriter(self.store, config, self.endpoint_name) if config.enabled else None

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        status = await self._route(scope, receive, send)
        path = scope["path"]
        if path == "/invocations" or (path.startswith(_RUNTIME_PREFIX) and path.endswith(_RUNTIME_SUFFIX)):
            self.metrics.observe(status, time.perf_counter() - started)
        elif path == "/ping":
            self.metrics.health_check()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        self.stop_watching()
        self._threads.shutdown(wait=True)
        if self.capture is not None:
            self.capture.close()
        self.metrics.write()

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> int:
        path, method = scope["path"], scope["method"]
        if path == "/invocations":
            if method != "POST":
                return await _respond(send, 405, _TEXT, b"use POST /invocations\n")
            return await self._invocations(scope, receive, send)
        if path.startswith(_RUNTIME_PREFIX) and path.endswith(_RUNTIME_SUFFIX) and method == "POST":
            return await self._runtime_invocations(scope, receive, send)
        if path == "/ping" and method in ("GET", "HEAD"):
            return await _respond(send, 200, _TEXT, b"")
        if path == "/execution-parameters" and method == "GET":
            workers = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS") or os.cpu_count() or 1)
            document = {"MaxConcurrentTransforms": workers, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
            return await _respond(send, 200, [(b"content-type", b"application/json")], json.dumps(document).encode())
        return await _respond(send, 404, _TEXT, f"no route for {method} {path}\n".encode())

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> int:
        headers = _headers(scope)
        try:
            body = await _read_body(headers, receive)
            answer = await self.invoke(headers, body)
        except _BodyTooLarge:
            message = f"the request body is larger than {MAX_PAYLOAD_BYTES} bytes (6 MiB); split it\n"
            return await _respond(send, 413, _TEXT, message.encode())
        except _ClientGone:
            return CLIENT_GONE
        except RequestError as exc:
            return await _respond(send, exc.status, _TEXT, (exc.message + "\n").encode())
        return await _respond(send, answer.status, answer.headers(), answer.body)

    async def _runtime_invocations(self, scope: Scope, receive: Receive, send: Send) -> int:
        name = scope["path"][len(_RUNTIME_PREFIX) : -len(_RUNTIME_SUFFIX)]
        headers = _headers(scope)
        if name != self.endpoint_name:
            return await _respond(send, *runtime_api.endpoint_not_found(name))
        try:
            body = await _read_body(headers, receive)
            answer = await self.invoke(headers, body)
        except _BodyTooLarge:
            message = f"Request body is larger than the limit of {MAX_PAYLOAD_BYTES} bytes."
            return await _respond(send, *runtime_api.validation_error(413, message))
        except _ClientGone:
            return CLIENT_GONE
        except RequestError as exc:
            return await _respond(send, *runtime_api.model_error(name, exc.status, exc.message))
        headers_out = [*runtime_api.success_headers(None), *answer.headers()]
        return await _respond(send, answer.status, headers_out, answer.body)

    async def invoke(self, headers: dict[str, str], body: bytes) -> Answer:
        """The container contract for one request body; raises RequestError for a refused request."""
        if not body:
            return Answer(204, None, b"")
        content_type = content_type_of(headers.get("content-type"))
        accept = accept_of(headers.get("accept"), self.default_accept)
        if len(body) > LARGE_BODY_BYTES:
            model = self.model
            output = await asyncio.get_running_loop().run_in_executor(
                self._threads, _answer, model, body, content_type, accept
            )
        else:
            rows = decode(body, content_type, self.model.num_features)
            predictions, model = await self.batcher.predict(rows)
            output = encode(predictions, accept)
        response_type = RESPONSE_CONTENT_TYPES[accept]
        self._capture(headers.get("content-type") or CSV, body, response_type, output)
        return Answer(200, response_type, output, model.model_package_arn)

    def _capture(self, request_type: str, body: bytes, response_type: str, output: bytes) -> None:
        if self._next_capture is not None:
            if self.capture is not None:
                self.capture.close()
            self.capture, self._next_capture = self._capture_writer(self._next_capture), None
        if self.capture is not None:
            self.capture.maybe_capture(request_type, body, response_type, output)


def _answer(model: LoadedModel, body: bytes, content_type: str, accept: str) -> bytes:
    """One large body's answer, start to end, on a worker thread."""
    return encode(predict_alone(model, decode(body, content_type, model.num_features)), accept)


def _load_with_fallback(deployment: Deployment) -> LoadedModel:
    """The deployed model, else the previous one (a worker must boot even if the newest file went bad)."""
    try:
        return load_model(
            deployment.model_dir,
            model_package_arn=deployment.model_package_arn,
            generation=deployment.generation,
            unpickle=deployment.unpickle,
        )
    except ModelLoadError as exc:
        previous = deployment.previous
        if not previous:
            raise
        logger.error("cannot load %s (%s); serving the previous model", deployment.model_package_arn, exc)
        return load_model(
            previous["model_dir"],
            model_package_arn=previous["model_package_arn"],
            generation=-1,
            unpickle=previous.get("unpickle") is True,
        )


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _read_body(headers: dict[str, str], receive: Receive) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        raise _BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: Headers, body: bytes) -> int:
    if status != 204:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status
