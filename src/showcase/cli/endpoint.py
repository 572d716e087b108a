"""``showcase endpoint``: serve a registered model locally with SageMaker's endpoint contracts.

    showcase endpoint serve  --config deploy/endpoint_config_adj.json [--detach] [--host H] [--port P] [--workers N]
                             [--allowed-host NAME ...]
    showcase endpoint deploy --config deploy/endpoint_config_adj.json     (update the running endpoint)
    showcase endpoint promote --from STAGING --to PROD [--approve [--comment TEXT] [--approver NAME]]
    showcase endpoint status [--config FILE | --endpoint-name NAME]
    showcase endpoint stop   [--config FILE | --endpoint-name NAME]

``serve`` prints the endpoint's URL once it listens; with ``--detach`` it returns then, the server running on
in the background (its log in ``<home>/endpoints/<name>/serve.log``), so that the next command of a script can
call it. The model is checked (archive, XGBoost load, one probe prediction) before it serves.
``showcase-endpoint`` is ``showcase endpoint``.

``deploy`` updates as UpdateEndpoint does (``showcase.serving.rollout``): with the config's DeploymentStrategy
(CANARY, LINEAR, ALL_AT_ONCE, and the template's baking period and alarms), or its ``DeploymentConfig`` and
``Alarms`` (UpdateEndpoint's and PutMetricAlarm's shapes) beside ``Parameters``, it shifts traffic step by step and
rolls back by itself when an alarm trips (exit 1, the reason on stderr); without either, it swaps every worker at
once. ``promote`` deploys the package one endpoint serves to another, once approved (``showcase.serving.promotion``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from showcase.cli.common import Context, add_allowed_host, read_json_file
from showcase.cli.output import Status, stderr_console
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME, EndpointConfig, parse_endpoint_config
from showcase.errors import NoSuchResource, UsageError
from showcase.serving.errors import ServingError
from showcase.statuses import EndpointStatus

DETACHED_START_TIMEOUT_S = 120.0
"""How long ``serve --detach`` waits for the server to answer /ping before it gives up."""


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase endpoint ...``."""
    parser = commands.add_parser(
        "endpoint",
        help="the local endpoint: serve a model package, swap it, show its status, stop it",
        description="Serve a registered model locally with SageMaker's endpoint contracts (the XGBoost "
        "container's /ping and /invocations, and the Runtime API's /endpoints/NAME/invocations).",
    )
    endpoint = parser.add_subparsers(dest="endpoint_command", required=True, metavar="COMMAND")

    serve = endpoint.add_parser("serve", help="deploy the config's model package and serve it")
    serve.add_argument("--config", required=True, help="endpoint config (deploy/endpoint_config_adj.json)")
    serve.add_argument(
        "--detach", action="store_true",
        help="return once the endpoint answers, leaving it serving in the background (stop it with `stop`)",
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    serve.add_argument(
        "--port", type=_port, default=None, help="port (default: SAGEMAKER_BIND_TO_PORT, else 8080; 0 picks one)"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="worker processes (default: SAGEMAKER_MODEL_SERVER_WORKERS, else the CPU count)",
    )
    add_allowed_host(serve)
    serve.set_defaults(handler=_serve)

    deploy = endpoint.add_parser(
        "deploy", help="update the running endpoint: canary or linear with automatic rollback, or a hot swap"
    )
    deploy.add_argument("--config", required=True, help="endpoint config (deploy/endpoint_config_adj.json)")
    deploy.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )
    deploy.set_defaults(handler=_deploy)

    promote = endpoint.add_parser("promote", help="deploy what one endpoint serves to another, once approved")
    promote.add_argument("--from", dest="source", required=True, metavar="NAME", help="the endpoint promoted from")
    promote.add_argument("--to", dest="target", required=True, metavar="NAME", help="the endpoint promoted to")
    promote.add_argument("--approve", action="store_true", help="record your approval of the promotion, then deploy")
    promote.add_argument("--comment", default="", help="why it is approved (kept with the approval)")
    promote.add_argument("--approver", default=None, help="who approves (default: the user running this)")
    promote.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )
    promote.set_defaults(handler=_promote)

    for name, text, handler in (
        ("status", "the endpoint's model, workers and request metrics", _status),
        ("stop", "stop it, letting in-flight requests finish", _stop),
    ):
        command = endpoint.add_parser(name, help=text)
        which = command.add_mutually_exclusive_group()
        which.add_argument("--config", help="endpoint config naming the endpoint (its EndpointName)")
        which.add_argument("--endpoint-name", help=f"endpoint name (default: {DEFAULT_ENDPOINT_NAME})")
        if name == "stop":
            command.add_argument(
                "--timeout", type=float, default=60.0, help="seconds to wait for in-flight requests (default: 60)"
            )
        command.set_defaults(handler=handler)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _config(path: str) -> EndpointConfig:
    return parse_endpoint_config(read_json_file(path, "endpoint config"), path)


def _serve(ctx: Context) -> int:
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of, read_server_info

    # Before XGBoost is first imported: one OpenMP thread per process, and a fork-safe parent.
    os.environ["OMP_NUM_THREADS"] = "1"
    args, settings = ctx.args, ctx.settings
    config = _config(args.config)
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
    _note(f"serving {deployment.model_package_arn} as endpoint {paths.name!r} with {options.workers} worker(s)")
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
            _note(f"serving in the background (pid {process.pid}, log {log_path}); stop it with: "
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


def _note(text: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(text), soft_wrap=True)


def _deploy(ctx: Context) -> int:
    from showcase.cli.common import read_json_file
    from showcase.serving import rollout
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

    os.environ["OMP_NUM_THREADS"] = "1"
    args, settings = ctx.args, ctx.settings
    raw = read_json_file(args.config, "endpoint config")
    config = parse_endpoint_config(raw, args.config)
    paths = EndpointPaths(settings.home, endpoint_name_of(config))
    policy: rollout.Policy | None
    if raw.get("DeploymentConfig"):
        policy = rollout.policy_of(
            raw["DeploymentConfig"], raw.get("Alarms") or [], endpoint_name=paths.name, source=args.config
        )
    else:
        policy = rollout.policy_of_parameters(config.parameters, paths.name, args.config)
    record = rollout.update_endpoint(
        paths,
        settings,
        config,
        source=args.config,
        policy=policy,
        monitoring=_monitoring(settings, paths.name),
        report=_progress,
        pace=rollout.Pace(swap_timeout_s=args.timeout),
    )
    _deployed(ctx, paths.name, record, "")
    return 0


def _promote(ctx: Context) -> int:
    import getpass

    from showcase.serving import promotion, rollout

    os.environ["OMP_NUM_THREADS"] = "1"
    args = ctx.args
    approval = (args.approver or getpass.getuser(), args.comment) if args.approve else None
    record = promotion.promote(
        ctx.settings,
        args.source,
        args.target,
        approval=approval,
        monitoring=_monitoring(ctx.settings, args.target),
        report=_progress,
        pace=rollout.Pace(swap_timeout_s=args.timeout),
    )
    if record is None:
        ctx.out.document({"EndpointName": args.target, "EndpointStatus": EndpointStatus.IN_SERVICE, "Changed": False})
        return 0
    _deployed(ctx, args.target, record, f", promoted from {args.source!r}")
    return 0


def _deployed(ctx: Context, name: str, record: dict[str, Any], how: str) -> None:
    served = ", ".join(f"{arn} ({variant})" for variant, arn in record["To"].items())
    ctx.out.document(
        {
            "EndpointName": name,
            "EndpointStatus": EndpointStatus.IN_SERVICE,
            "DeploymentId": record["DeploymentId"],
            "ProductionVariants": [{"VariantName": v, "ModelPackageArn": a} for v, a in record["To"].items()],
            "LastDeploymentConfig": record["DeploymentConfig"],
        }
    )
    ctx.out.line(f"endpoint {name!r} now serves {served}{how}")


def _monitoring(settings: Any, name: str) -> Any:
    """What the monitoring runs of an endpoint published, from a moment on (the monitoring alarms read it)."""
    from showcase.monitoring.published import MonitoringMetrics
    from showcase.store import ObjectStore

    store = ObjectStore(settings.store_root)
    return lambda since: MonitoringMetrics(store, name, since)


def _progress(message: str) -> None:
    """A deployment's progress: one line on stderr per change, with the local time."""
    _note(f"{time.strftime('%H:%M:%S')} {message}")


def _named_paths(ctx: Context) -> Any:
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

    args = ctx.args
    name = endpoint_name_of(_config(args.config)) if args.config else (args.endpoint_name or DEFAULT_ENDPOINT_NAME)
    return EndpointPaths(ctx.settings.home, name)


def _status(ctx: Context) -> int:
    from showcase.serving.deployment import child_pids, read_deployment, read_server_info
    from showcase.serving.metrics import read_worker_files

    paths = _named_paths(ctx)
    deployment = read_deployment(paths)
    if deployment is None:
        raise NoSuchResource(
            f"endpoint {paths.name!r} has never been deployed under {ctx.settings.home}; "
            "serve it with: showcase endpoint serve --config deploy/endpoint_config_adj.json"
        )
    running = read_server_info(paths)
    live = set(child_pids(running.pid)) if running else set()
    workers = read_worker_files(paths.workers_dir)
    summary = status_document(paths.name, deployment, running, live, workers)
    summary.update(deployment_document(paths, deployment))
    ctx.out.document(summary)
    latency = summary["MeanLatencyMs"]
    by_status = ", ".join(f"{code}: {count}" for code, count in sorted(summary["RequestsByStatus"].items()))
    capture = summary["DataCaptureConfig"]
    ctx.out.fields(
        [
            ("endpoint", summary["EndpointName"]),
            ("status", Status(summary["EndpointStatus"])),
            ("url", summary["Url"]),
            ("pid", summary["Pid"]),
            ("model package", summary["ModelPackageArn"]),
            ("generation", summary["Generation"]),
            ("deployed", summary["LastModifiedTime"]),
            ("workers", len(summary["Workers"])),
            ("requests", f"{summary['Requests']}" + (f" ({by_status})" if by_status else "")),
            ("mean latency", f"{latency:.3f} ms" if latency is not None else None),
            ("health checks", summary["HealthChecks"]),
            ("variants", ", ".join(f"{v['VariantName']} {_share(v)}" for v in summary["ProductionVariants"])),
            ("last deployment", _last(summary.get("LastDeployment"))),
            (
                "data capture",
                f"{capture['CurrentSamplingPercentage']}% to {capture['DestinationS3Uri']}"
                if capture["EnableCapture"]
                else "off",
            ),
        ]
    )
    return 0


def _share(variant: dict[str, Any]) -> str:
    return "shadow" if variant.get("Shadow") else f"{variant['CurrentWeight']:.0%}"


def _last(record: dict[str, Any] | None) -> str | None:
    if not record:
        return None
    said = (
        f"{record['Routing']} {record['Outcome'] or record['Status']}, step {record['Step']} of {len(record['Shares'])}"
    )
    return said + (f": {record['Reason']}" if record.get("Reason") else "")


def deployment_document(paths: Any, deployment: Any) -> dict[str, Any]:
    """The variants with their current shares (the new fleet's during a deployment, in ``NewFleet``), and the
    last deployment: its status, step, alarms and outcome; a deployment in progress gives the endpoint its status."""
    from showcase.serving import rollout

    def variants_of(fleet: Any, share: float) -> list[dict[str, Any]]:
        shares = fleet.shares()
        found: list[dict[str, Any]] = []
        for v in fleet.variants:
            weight = round(shares[v.name] * share, 6)
            found.append({"VariantName": v.name, "ModelPackageArn": v.model_package_arn, "CurrentWeight": weight})
        if fleet.shadow is not None:
            found.append(
                {"VariantName": fleet.shadow.name, "ModelPackageArn": fleet.shadow.model_package_arn, "Shadow": True}
            )
        return found

    new_share = deployment.new_share if deployment.new_fleet is not None else 0.0
    answer: dict[str, Any] = {"ProductionVariants": variants_of(deployment.fleet, 1.0 - new_share)}
    if deployment.new_fleet is not None:
        answer["NewFleet"] = variants_of(deployment.new_fleet, new_share)
    records = rollout.list_deployments(paths)
    if records:
        last = records[0]
        keys = ("DeploymentId", "Status", "Outcome", "Reason", "Routing", "Step", "Shares", "NewFleetShare",
                "StartTime", "EndTime", "To", "Alarms")  # fmt: skip
        answer["LastDeployment"] = {key: last.get(key) for key in keys}
        if rollout.in_progress(last):
            answer["EndpointStatus"] = EndpointStatus(last["Status"])
    return answer


def status_document(
    name: str, deployment: Any, running: Any, live: set[int], workers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The endpoint as DescribeEndpoint names what it has (EndpointName, EndpointStatus, LastModifiedTime,
    DataCaptureConfig), with what only a local endpoint has in the same PascalCase: its URL, server and workers,
    and its request metrics."""
    from datetime import datetime

    requests = sum(entry.get("requests", 0) for entry in workers)
    by_status: dict[str, int] = {}
    for entry in workers:
        for status, count in entry.get("by_status", {}).items():
            by_status[status] = by_status.get(status, 0) + count
    latency = sum(entry.get("latency_ms_sum", 0.0) for entry in workers)
    deployed: Any = deployment.deployed_at
    with contextlib.suppress(TypeError, ValueError):
        deployed = datetime.fromisoformat(deployed)
    return {
        "EndpointName": name,
        "EndpointStatus": EndpointStatus.IN_SERVICE if running else EndpointStatus.OUT_OF_SERVICE,
        "Url": running.url if running else None,
        "Pid": running.pid if running else None,
        "ModelPackageArn": deployment.model_package_arn,
        "Generation": deployment.generation,
        "LastModifiedTime": deployed,
        "DataCaptureConfig": {
            "EnableCapture": deployment.capture.enabled,
            "CurrentSamplingPercentage": deployment.capture.sampling_percentage,
            "DestinationS3Uri": deployment.capture.destination_uri,
        },
        "Workers": [
            {
                "Pid": entry.get("pid"),
                "ModelPackageArn": entry.get("model_package_arn"),
                "Generation": entry.get("generation"),
                "SwapError": entry.get("swap_error"),
                "Requests": entry.get("requests"),
            }
            for entry in workers
            if entry.get("pid") in live
        ],
        "Requests": requests,
        "RequestsByStatus": by_status,
        "MeanLatencyMs": round(latency / requests, 3) if requests else None,
        "HealthChecks": sum(entry.get("health_checks", 0) for entry in workers),
    }


def _stop(ctx: Context) -> int:
    from showcase.processes import pid_alive
    from showcase.serving.deployment import read_server_info
    from showcase.serving.errors import EndpointNotRunning

    paths = _named_paths(ctx)
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
