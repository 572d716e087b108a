"""``showcase endpoint serve`` and ``stop``: the endpoint's server process, in the foreground or detached."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from showcase.cli.common import Context, read_json_file
from showcase.cli.output import stderr_console
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME, EndpointConfig, parse_endpoint_config
from showcase.errors import UsageError
from showcase.serving.errors import ServingError
from showcase.statuses import EndpointStatus

DETACHED_START_TIMEOUT_S = 120.0
"""How long ``serve --detach`` waits for the server to answer /ping before it gives up."""


def read_config(path: str) -> EndpointConfig:
    return parse_endpoint_config(read_json_file(path, "endpoint config"), path)


def named_paths(ctx: Context) -> Any:
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

    args = ctx.args
    name = endpoint_name_of(read_config(args.config)) if args.config else (args.endpoint_name or DEFAULT_ENDPOINT_NAME)
    return EndpointPaths(ctx.settings.home, name)


def note(text: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(text), soft_wrap=True)


def serve(ctx: Context) -> int:
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of, read_server_info

    # Before XGBoost is first imported: one OpenMP thread per process, and a fork-safe parent.
    os.environ["OMP_NUM_THREADS"] = "1"
    args, settings = ctx.args, ctx.settings
    config = read_config(args.config)
    paths = EndpointPaths(settings.home, endpoint_name_of(config))
    running = read_server_info(paths)
    if running is not None:
        raise UsageError(
            f"endpoint {paths.name!r} is already served at {running.url} (pid {running.pid}); "
            "change its model with: showcase endpoint deploy --config ..."
        )
    if args.detach:
        return _detach(ctx, paths)
    return _serve_here(ctx, config, paths)


def _serve_here(ctx: Context, config: EndpointConfig, paths: Any) -> int:
    from showcase.serving import server
    from showcase.serving.deployment import prepare_deployment, read_deployment, write_deployment
    from showcase.store import ObjectStore

    args, settings = ctx.args, ctx.settings
    options = server.ServerOptions(
        host=args.host,
        port=server.port_from_env(args.port),
        workers=server.workers_from_env(args.workers),
        log_level="warning" if args.log_level == "WARN" else args.log_level.lower(),
        allowed_hosts=tuple(args.allowed_host),
        on_ready=lambda url: _ready(ctx, paths.name, url),
    )
    deployment, _ = prepare_deployment(config, settings, source=args.config, previous=read_deployment(paths))
    write_deployment(paths, deployment)
    note(f"serving {deployment.model_package_arn} as endpoint {paths.name!r} with {options.workers} worker(s)")
    server.run(paths, ObjectStore(settings.store_root), options)
    return 0


def _ready(ctx: Context, name: str, url: str) -> None:
    """The line (or JSON document) that says the endpoint listens, whatever the log level."""
    ctx.out.document({"EndpointName": name, "EndpointStatus": EndpointStatus.IN_SERVICE, "Url": url})
    ctx.out.line(f"endpoint {name!r} listening on {url}")
    sys.stdout.flush()


def _detach(ctx: Context, paths: Any) -> int:
    """Serve in a process of its own (a new session: it outlives this one) and return once it answers /ping."""
    from showcase.processes import pid_alive
    from showcase.serving.deployment import read_server_info

    args = ctx.args
    command = [sys.executable, "-m", "showcase.cli.main", "--home", str(ctx.settings.home), "endpoint", "serve",
               "--config", args.config, "--host", args.host, "--log-level", args.log_level]  # fmt: skip
    if args.port is not None:
        command += ["--port", str(args.port)]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    for name in args.allowed_host:
        command += ["--allowed-host", name]
    command += ["--allow-pickled-models"] if args.allow_pickled_models else []
    paths.root.mkdir(parents=True, exist_ok=True)
    log_path = paths.root / "serve.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + DETACHED_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServingError(f"endpoint {paths.name!r} did not start: {_last_line(log_path)} (log: {log_path})")
        info = read_server_info(paths)
        if info is not None and info.pid == process.pid and _answers(info.host, info.port):
            _ready(ctx, paths.name, info.url)
            note(f"serving in the background (pid {process.pid}, log {log_path}); stop it with: "
                  f"showcase endpoint stop --endpoint-name {paths.name}")  # fmt: skip
            return 0
        time.sleep(0.1)
    if pid_alive(process.pid):
        os.kill(process.pid, signal.SIGTERM)
    raise ServingError(
        f"endpoint {paths.name!r} did not answer within {DETACHED_START_TIMEOUT_S:g} s; see its log {log_path}"
    )


def _answers(host: str, port: int) -> bool:
    """Whether the endpoint answers ``GET /ping`` with 200 (its workers have loaded the model)."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=2)
        try:
            connection.request("GET", "/ping")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except OSError:
        return False


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "no log"
    return next((line for line in reversed(lines) if line), "no output")


def stop(ctx: Context) -> int:
    from showcase.processes import pid_alive
    from showcase.serving.deployment import read_server_info
    from showcase.serving.errors import EndpointNotRunning

    paths = named_paths(ctx)
    running = read_server_info(paths)
    if running is None:
        raise EndpointNotRunning(paths.name)
    os.kill(running.pid, signal.SIGTERM)  # gunicorn: stop accepting, finish in-flight requests, exit
    deadline = time.monotonic() + ctx.args.timeout
    while pid_alive(running.pid):
        if time.monotonic() > deadline:
            raise ServingError(
                f"endpoint {paths.name!r} (pid {running.pid}) did not stop within {ctx.args.timeout:g} s"
            )
        time.sleep(0.1)
    ctx.out.document({"EndpointName": paths.name, "EndpointStatus": EndpointStatus.OUT_OF_SERVICE})
    ctx.out.line(f"endpoint {paths.name!r} stopped")
    return 0
