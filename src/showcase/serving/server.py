"""Run an endpoint: a gunicorn arbiter over uvicorn worker processes, each serving ``EndpointApp``.

Why this stack, for throughput on a 2-core machine:

- **Processes, not threads.** A prediction holds the GIL for its Python part; one process per core (the
  container's default, ``SAGEMAKER_MODEL_SERVER_WORKERS`` or the CPU count) with one OpenMP thread each uses
  every core without oversubscribing them.
- **gunicorn's arbiter** pre-forks the workers, replaces one that dies, drains them on SIGTERM (each finishes
  its in-flight requests within ``graceful_timeout``) and reloads them on SIGHUP. It is what the container uses.
- **uvicorn workers (uvloop + httptools)** instead of the container's gevent/Flask: keep-alive connections,
  an HTTP parser in C, and an event loop that lets ``Batcher`` predict the requests in hand in one call. On
  this machine a sync WSGI worker closes every connection and parses HTTP in Python, and Flask adds its own
  request objects, each costing more than a one-row prediction.

Workers build the app after the fork (``preload_app`` off) so each loads its own booster and starts its own
watcher thread; the arbiter process never runs XGBoost.

Each worker parses HTTP with ``bounds.BoundedProtocol`` (header size and count, head and body deadlines:
gunicorn's own ``limit_request_*`` do not reach uvicorn's parser) and answers only to the names
``hosts.HostGuard`` allows: the loopback names, the bound address and ``--allowed-host``.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from showcase.errors import UsageError
from showcase.processes import pid_alive
from showcase.serving.app import EndpointApp
from showcase.serving.bounds import BoundedProtocol
from showcase.serving.deployment import EndpointPaths, ServerInfo, write_server_info
from showcase.serving.hosts import HostGuard, allowed_hosts
from showcase.store import ObjectStore

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class BoundedUvicornWorker(UvicornWorker):
    """uvicorn_worker's worker (uvloop), parsing with ``BoundedProtocol``; no WebSockets."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", "http": BoundedProtocol, "ws": "none"}


@dataclass(frozen=True)
class ServerOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    graceful_timeout_s: int = 30
    log_level: str = "info"
    allowed_hosts: tuple[str, ...] = ()
    """Names the endpoint answers to besides the loopback ones and ``host`` (``--allowed-host``)."""
    on_ready: Callable[[str], None] | None = field(default=None, compare=False)
    """Called once with the endpoint's URL when it listens (the CLI prints it, whatever the log level)."""

    def __post_init__(self) -> None:
        self.answers_to()  # a name that cannot be one is refused before anything starts

    def answers_to(self) -> frozenset[str]:
        """The names a request's Host may carry."""
        try:
            return allowed_hosts(self.host, self.allowed_hosts)
        except ValueError as exc:
            raise UsageError(f"--host {self.host!r}: {exc}") from None


def port_from_env(flag: int | None) -> int:
    """``--port``, else SAGEMAKER_BIND_TO_PORT, else 8080."""
    if flag is not None:
        return flag
    raw = os.environ.get("SAGEMAKER_BIND_TO_PORT", "")
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or int(raw) > 65535:
        raise UsageError(f"SAGEMAKER_BIND_TO_PORT must be a port number, got {raw!r}")
    return int(raw)


def workers_from_env(flag: int | None) -> int:
    """``--workers``, else SAGEMAKER_MODEL_SERVER_WORKERS, else the CPU count."""
    if flag is not None:
        return flag
    raw = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "")
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"SAGEMAKER_MODEL_SERVER_WORKERS must be a whole number of at least 1, got {raw!r}")
    return int(raw)


class EndpointServer(BaseApplication):
    """gunicorn, configured in code (no gunicorn command line or config file)."""

    def __init__(self, paths: EndpointPaths, store: ObjectStore, options: ServerOptions) -> None:
        self.paths, self.store, self.options = paths, store, options
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": [f"{self.options.host}:{self.options.port}"],
            "workers": self.options.workers,
            "worker_class": BoundedUvicornWorker,
            "preload_app": False,
            "graceful_timeout": self.options.graceful_timeout_s,
            "timeout": 60,
            "keepalive": 60,
            "backlog": 2048,
            "loglevel": self.options.log_level,
            "errorlog": "-",
            "proc_name": f"showcase-endpoint[{self.paths.name}]",
            "when_ready": self._when_ready,
            "on_exit": self._on_exit,
        }
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no shared ~/.gunicorn socket
            settings["control_socket_disable"] = True
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> HostGuard:
        os.environ["OMP_NUM_THREADS"] = "1"
        app = EndpointApp.from_home(self.paths, self.store)
        app.start_watching()
        gc.freeze()  # the libraries and the model stay for the worker's life: keep them out of every GC pass
        return HostGuard(app, self.options.answers_to())

    def _when_ready(self, arbiter: Any) -> None:
        host, port = arbiter.LISTENERS[0].sock.getsockname()[:2]
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        info = ServerInfo(os.getpid(), host, port, self.options.workers, started)
        write_server_info(self.paths, info)
        _forget_dead_workers(self.paths)
        logger.info("endpoint %s listening on http://%s:%d", self.paths.name, host, port)
        if self.options.on_ready is not None:
            self.options.on_ready(info.url)

    def _on_exit(self, arbiter: Any) -> None:
        self.paths.server_file.unlink(missing_ok=True)


def _forget_dead_workers(paths: EndpointPaths) -> None:
    for path in paths.workers_dir.glob("*.json") if paths.workers_dir.is_dir() else []:
        if path.stem.isdigit() and not pid_alive(int(path.stem)):
            path.unlink(missing_ok=True)


def run(paths: EndpointPaths, store: ObjectStore, options: ServerOptions) -> None:
    """Serve until SIGTERM/SIGINT (blocks; gunicorn installs its own signal handlers)."""
    EndpointServer(paths, store, options).run()
