"""The endpoint as a plain ASGI app: the XGBoost container's routes plus the SageMaker Runtime API path.

    GET  /ping                                 200 once the model is loaded (it is, before a worker serves)
    GET  /execution-parameters                 batch transform hints, as the container
    POST /invocations                          the container contract (see ``codec``)
    POST /endpoints/{EndpointName}/invocations the Runtime API (see ``runtime_api``)

No framework: routing is four comparisons, and a framework's request objects would cost more than the
prediction of one row. Each worker holds every variant's model (``routing``: weights, ``TargetVariant``, the
shadow, a blue/green split); a daemon thread watches ``deployment.json`` and swaps in place once every new model
has loaded and answered a probe prediction, so a redeploy fails no request and a model that cannot load leaves
the old ones serving (the refusal is logged and written to the worker file).

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
from dataclasses import dataclass, replace

import numpy as np

from showcase.serving import runtime_api
from showcase.serving.asgi import (
    CLIENT_GONE,
    TEXT,
    BodyTooLarge,
    ClientGone,
    Headers,
    Receive,
    Scope,
    Send,
    headers_of,
    read_body,
    respond,
)
from showcase.serving.batching import predict_alone
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
from showcase.serving.containers import through
from showcase.serving.deployment import CaptureConfig, Deployment, EndpointPaths, read_deployment
from showcase.serving.errors import ModelLoadError, ServingError
from showcase.serving.metrics import WorkerMetrics
from showcase.serving.model import LoadedModel
from showcase.serving.routing import Route, Routes, UnknownVariant
from showcase.store import ObjectStore

logger = logging.getLogger(__name__)

_RUNTIME_PREFIX, _RUNTIME_SUFFIX = "/endpoints/", "/invocations"
LARGE_BODY_BYTES = 16 * 1024
"""From this size a body is answered on a worker thread; below it, on the event loop with the batcher."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    body: bytes
    model_package_arn: str = ""
    variant: str = ""

    def headers(self) -> Headers:
        """Content-Type, and which model package answered (a local aid; SageMaker sends no such header)."""
        headers = [(b"content-type", self.content_type.encode())] if self.content_type else []
        if self.model_package_arn:
            headers.append((b"x-showcase-model-package", self.model_package_arn.encode()))
        return headers


TARGET_VARIANT = "x-amzn-sagemaker-target-variant"
INFERENCE_ID = "x-amzn-sagemaker-inference-id"


@dataclass
class _Served:
    """What one invocation did, for its metrics and its shadow copy."""

    route: Route | None = None
    container_status: int | None = None
    """The status the variant's container answered (a Runtime API caller sees 424 for its 4xx and 5xx)."""
    shadow: Callable[[], Awaitable[None]] | None = None


class EndpointApp:
    """One endpoint's ASGI app; build it with ``from_home`` in each worker process."""

    def __init__(self, paths: EndpointPaths, store: ObjectStore, deployment: Deployment, routes: Routes) -> None:
        self.paths = paths
        self.store = store
        self.endpoint_name = deployment.endpoint_name
        self.routes = routes
        self.metrics = WorkerMetrics(paths.workers_dir)
        self.metrics.set_model(routes.primary.variant.model_package_arn, routes.generation)
        self._capture_config = deployment.capture
        self._next_capture: CaptureConfig | None = None
        self._captures: dict[str, CaptureWriter] = {}
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

    @property
    def model(self) -> LoadedModel:
        """The model of the serving fleet's first production variant (``AllTraffic``)."""
        return self.routes.primary.model

    @property
    def capture(self) -> CaptureWriter | None:
        """The capture writer of ``AllTraffic``, once it captured something."""
        return self._captures.get(self.routes.primary.variant.name)

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
        """Swap to what ``deployment.json`` names, if it is a new generation and all of it loads; True when swapped."""
        deployment = read_deployment(self.paths)
        if deployment is None or deployment.generation == self.routes.generation:
            return False
        try:
            routes = Routes.load(deployment, reuse=self.routes)
        except ModelLoadError as exc:
            logger.error("worker %d keeps generation %d: %s", os.getpid(), self.routes.generation, exc)
            primary = self.routes.primary.variant.model_package_arn
            self.metrics.set_model(primary, self.routes.generation, swap_error=str(exc))
            return False
        self.routes = routes  # one reference assignment: a request uses either the old routes or the new ones
        self._next_capture = deployment.capture
        self.metrics.set_model(routes.primary.variant.model_package_arn, routes.generation)
        logger.info("worker %d now serves generation %d", os.getpid(), routes.generation)
        return True

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        served = _Served()
        status = await self._route(scope, receive, send, served)
        path = scope["path"]
        if path == "/invocations" or (path.startswith(_RUNTIME_PREFIX) and path.endswith(_RUNTIME_SUFFIX)):
            key = served.route.metrics_key if served.route else None
            self.metrics.observe(served.container_status or status, time.perf_counter() - started, key)
            if served.shadow is not None:
                await served.shadow()
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
        for writer in self._captures.values():
            writer.close()
        self.metrics.write()

    async def _route(self, scope: Scope, receive: Receive, send: Send, served: _Served) -> int:
        path, method = scope["path"], scope["method"]
        if path == "/invocations":
            if method != "POST":
                return await respond(send, 405, TEXT, b"use POST /invocations\n")
            return await self._invocations(scope, receive, send, served)
        if path.startswith(_RUNTIME_PREFIX) and path.endswith(_RUNTIME_SUFFIX) and method == "POST":
            return await self._runtime_invocations(scope, receive, send, served)
        if path == "/ping" and method in ("GET", "HEAD"):
            return await respond(send, 200, TEXT, b"")
        if path == "/execution-parameters" and method == "GET":
            workers = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS") or os.cpu_count() or 1)
            document = {"MaxConcurrentTransforms": workers, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
            return await respond(send, 200, [(b"content-type", b"application/json")], json.dumps(document).encode())
        return await respond(send, 404, TEXT, f"no route for {method} {path}\n".encode())

    async def _invocations(self, scope: Scope, receive: Receive, send: Send, served: _Served) -> int:
        headers = headers_of(scope)
        try:
            body = await read_body(headers, receive)
            answer = await self.invoke(headers, body, served)
        except BodyTooLarge:
            message = f"the request body is larger than {MAX_PAYLOAD_BYTES} bytes (6 MiB); split it\n"
            return await respond(send, 413, TEXT, message.encode())
        except ClientGone:
            return CLIENT_GONE
        except UnknownVariant as exc:
            return await respond(send, 400, TEXT, (_unknown_variant(exc, self.routes) + "\n").encode())
        except RequestError as exc:
            return await respond(send, exc.status, TEXT, (exc.message + "\n").encode())
        return await respond(send, answer.status, answer.headers(), answer.body)

    async def _runtime_invocations(self, scope: Scope, receive: Receive, send: Send, served: _Served) -> int:
        name = scope["path"][len(_RUNTIME_PREFIX) : -len(_RUNTIME_SUFFIX)]
        headers = headers_of(scope)
        if name != self.endpoint_name:
            return await respond(send, *runtime_api.endpoint_not_found(name))
        try:
            body = await read_body(headers, receive)
            answer = await self.invoke(headers, body, served)
        except BodyTooLarge:
            message = f"Request body is larger than the limit of {MAX_PAYLOAD_BYTES} bytes."
            return await respond(send, *runtime_api.validation_error(413, message))
        except ClientGone:
            return CLIENT_GONE
        except UnknownVariant as exc:
            return await respond(send, *runtime_api.validation_error(400, _unknown_variant(exc, self.routes)))
        except RequestError as exc:
            return await respond(send, *runtime_api.model_error(name, exc.status, exc.message))
        headers_out = [*runtime_api.success_headers(None, answer.variant), *answer.headers()]
        return await respond(send, answer.status, headers_out, answer.body)

    async def invoke(self, headers: dict[str, str], body: bytes, served: _Served | None = None) -> Answer:
        """The container contract for one request body, answered by the variant routing picks; raises
        RequestError for a refused request (500 when the model, not the request, failed) and UnknownVariant."""
        served = served if served is not None else _Served()
        route, shadow = self.routes.pick(headers.get(TARGET_VARIANT))
        served.route = route
        if not body:
            return Answer(204, None, b"", variant=route.variant.name)
        try:
            accept = accept_of(headers.get("accept"), self.default_accept)
            sent, sent_type = await self._through_front(route, body, headers.get("content-type"))
            content_type = content_type_of(sent_type)
            output = await self._predict(route, sent, content_type, accept)
        except RequestError as exc:
            served.container_status = exc.status
            raise
        response_type = RESPONSE_CONTENT_TYPES[accept]
        request_type = headers.get("content-type") or CSV
        inference_id = headers.get(INFERENCE_ID)
        self._capture(route.variant.name, request_type, body, response_type, output, inference_id)
        if shadow is not None:
            raw_type = headers.get("content-type")
            served.shadow = lambda: self._shadow(shadow, body, raw_type, accept, request_type, inference_id)
        return Answer(200, response_type, output, route.model.model_package_arn, route.variant.name)

    async def _through_front(self, route: Route, body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
        """The request as the variant's XGBoost container receives it: through an inference pipeline's containers
        before it, in sequence, on a worker thread (user code may block); unchanged for a one-container model."""
        if not route.front:
            return body, content_type
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, through, route.front, body, content_type or CSV
        )

    async def _predict(self, route: Route, body: bytes, content_type: str, accept: str) -> bytes:
        try:
            if len(body) > LARGE_BODY_BYTES:
                return await asyncio.get_running_loop().run_in_executor(
                    self._threads, _answer, route.model, body, content_type, accept
                )
            rows = decode(body, content_type, route.model.num_features)
            predictions, _ = await route.batcher.predict(rows)
            return encode(checked(predictions, route.model), accept)
        except RequestError:
            raise
        except Exception as exc:  # the outermost layer of a request: the model failed, not the request
            logger.exception("%s failed on a request", route.variant.model_package_arn)
            raise RequestError(500, f"the model failed: {type(exc).__name__}: {str(exc)[:200]}") from None

    async def _shadow(
        self, route: Route, body: bytes, raw_type: str | None, accept: str, request_type: str, inference_id: str | None
    ) -> None:
        """The shadow variant's answer to a copy of the request: captured and counted, never returned."""
        started = time.perf_counter()
        try:
            sent, sent_type = await self._through_front(route, body, raw_type)
            output = await self._predict(route, sent, content_type_of(sent_type), accept)
        except RequestError as exc:
            status = exc.status
        else:
            status = 200
            self._capture(route.variant.name, request_type, body, RESPONSE_CONTENT_TYPES[accept], output, inference_id)
        self.metrics.observe(status, time.perf_counter() - started, route.metrics_key, shadow=True)

    def _capture(
        self,
        variant: str,
        request_type: str,
        body: bytes,
        response_type: str,
        output: bytes,
        inference_id: str | None,
    ) -> None:
        if self._next_capture is not None:
            for writer in self._captures.values():
                writer.close()
            self._captures, self._capture_config, self._next_capture = {}, self._next_capture, None
        if not self._capture_config.enabled:
            return
        if variant not in self._captures:
            self._captures[variant] = CaptureWriter(self.store, self._capture_config, self.endpoint_name, variant)
        self._captures[variant].maybe_capture(request_type, body, response_type, output, inference_id)


def checked(predictions: np.ndarray, model: LoadedModel) -> np.ndarray:
    """The predictions, if every one is a finite number; else RequestError(500).

    The built-in container would answer ``nan`` or ``inf`` with 200. A regression's answer is a finite number,
    and a model that answers anything else is broken (``model.load_model`` refuses one that does so for its
    probe row): the endpoint answers 500, which SageMaker counts in Invocation5XXErrors and the rollback alarm
    watches, rather than passing the number on.
    """
    finite = np.isfinite(predictions)
    if finite.all():
        return predictions
    row = int(np.argwhere(~finite)[0][0]) + 1
    shown = predictions.ravel()[~finite.ravel()][0]
    which = f"model {model.model_package_arn}" if model.model_package_arn else "model"
    raise RequestError(
        500, f"the {which} answered {shown} for row {row}, not a finite number: it is broken (non-finite leaf values?)"
    )


def _answer(model: LoadedModel, body: bytes, content_type: str, accept: str) -> bytes:
    """One large body's answer, start to end, on a worker thread."""
    return encode(checked(predict_alone(model, decode(body, content_type, model.num_features)), model), accept)


def _unknown_variant(exc: UnknownVariant, routes: Routes) -> str:
    return (
        f"The variant {exc.name!r} named by X-Amzn-SageMaker-Target-Variant is not a production variant of this "
        f"endpoint; it has {', '.join(routes.variant_names())}."
    )


def _load_with_fallback(deployment: Deployment) -> Routes:
    """The deployment's models, else the previous fleet's (a worker must boot even if the newest file went bad)."""
    try:
        return Routes.load(deployment)
    except ModelLoadError as exc:
        previous = deployment.previous
        if previous is None:
            raise
        logger.error("cannot load generation %d (%s); serving the previous fleet", deployment.generation, exc)
        routes = Routes.load(replace(deployment, new_fleet=None), fleet=previous)
        routes.generation = -1
        return routes
