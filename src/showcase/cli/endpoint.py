"""``showcase-endpoint``: serve a registered model locally with SageMaker's endpoint contracts.

    showcase-endpoint serve  --config deploy/endpoint_config_adj.json [--host H] [--port P] [--workers N]
                             [--allowed-host NAME ...]
    showcase-endpoint deploy --config deploy/endpoint_config_adj.json     (update the running endpoint)
    showcase-endpoint promote --from STAGING --to PROD [--approve [--comment TEXT] [--approver NAME]]
    showcase-endpoint status [--config FILE | --endpoint-name NAME]
    showcase-endpoint stop   [--config FILE | --endpoint-name NAME]

Every command takes ``--home`` (else SHOWCASE_HOME, else ./.showcase): where the registry, the object store and
the endpoints' state live. The model is checked (archive, XGBoost load, one probe prediction) before it serves.

``deploy`` updates as UpdateEndpoint does (``showcase.serving.rollout``): with the config's DeploymentStrategy
(CANARY, LINEAR, ALL_AT_ONCE, and the template's baking period and alarms), or its ``DeploymentConfig`` and
``Alarms`` (UpdateEndpoint's and PutMetricAlarm's shapes) beside ``Parameters``, it shifts traffic step by step and
rolls back by itself when an alarm trips (exit 1, the reason on stderr); without either, it swaps every worker at
once. ``promote`` deploys the package one endpoint serves to another, once approved (``showcase.serving.promotion``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from showcase import settings as settings_module
from showcase.cli.common import (
    ArgumentParser,
    add_allowed_host,
    add_home,
    add_log_level,
    configure_logging,
    read_json_file,
    run_cli,
)
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME, EndpointConfig, parse_endpoint_config
from showcase.errors import UsageError


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="showcase-endpoint",
        description="Serve a registered model locally with SageMaker's endpoint contracts (the XGBoost "
        "container's /ping and /invocations, and the Runtime API's /endpoints/NAME/invocations).",
    )
    common = ArgumentParser(add_help=False)
    add_log_level(common)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="deploy the config's model package and serve it")
    serve.add_argument("--config", required=True, help="endpoint config (deploy/endpoint_config_adj.json)")
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

    deploy = commands.add_parser(
        "deploy",
        parents=[common],
        help="update the running endpoint to the config's variants: canary/linear with rollback, or a hot swap",
    )
    deploy.add_argument("--config", required=True, help="endpoint config (deploy/endpoint_config_adj.json)")
    deploy.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )

    promote = commands.add_parser(
        "promote", parents=[common], help="deploy what one endpoint serves to another, once approved"
    )
    promote.add_argument("--from", dest="source", required=True, help="the endpoint promoted from (staging)")
    promote.add_argument("--to", dest="target", required=True, help="the endpoint promoted to (production)")
    promote.add_argument("--approve", action="store_true", help="record your approval of the promotion, then deploy")
    promote.add_argument("--comment", default="", help="why it is approved (kept with the approval)")
    promote.add_argument("--approver", default=None, help="who approves (default: the user running this)")
    promote.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )

    for name, text in (("status", "show the endpoint's model, workers and request metrics"), ("stop", "stop it")):
        command = commands.add_parser(name, parents=[common], help=text)
        which = command.add_mutually_exclusive_group()
        which.add_argument("--config", help="endpoint config naming the endpoint (its EndpointName)")
        which.add_argument("--endpoint-name", help=f"endpoint name (default: {DEFAULT_ENDPOINT_NAME})")
        if name == "stop":
            command.add_argument(
                "--timeout", type=float, default=60.0, help="seconds to wait for in-flight requests (default: 60)"
            )
    add_home(parser)
    return parser


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


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    # Before XGBoost is first imported: one OpenMP thread per process, and a fork-safe parent.
    os.environ["OMP_NUM_THREADS"] = "1"
    settings = settings_module.load(args.home)
    handler = {"serve": _serve, "deploy": _deploy, "promote": _promote, "status": _status, "stop": _stop}[args.command]
    return handler(args, settings)


def _serve(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from showcase.serving import server
    from showcase.serving.deployment import (
        EndpointPaths,
        endpoint_name_of,
        prepare_deployment,
        read_deployment,
        read_server_info,
        write_deployment,
    )
    from showcase.store import ObjectStore

    config = _config(args.config)
    paths = EndpointPaths(settings.home, endpoint_name_of(config))
    running = read_server_info(paths)
    if running is not None:
        raise UsageError(
            f"endpoint {paths.name!r} is already served at {running.url} (pid {running.pid}); "
            "change its model with: showcase-endpoint deploy --config ..."
        )
    options = server.ServerOptions(
        host=args.host,
        port=server.port_from_env(args.port),
        workers=server.workers_from_env(args.workers),
        log_level="warning" if args.log_level == "WARN" else args.log_level.lower(),
        allowed_hosts=tuple(args.allowed_host),
    )
    deployment, _ = prepare_deployment(config, settings, source=args.config, previous=read_deployment(paths))
    write_deployment(paths, deployment)
    print(
        f"serving {deployment.model_package_arn} as endpoint {paths.name!r} with {options.workers} worker(s)",
        file=sys.stderr,
    )
    server.run(paths, ObjectStore(settings.store_root), options)
    return 0


def _deploy(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from showcase.serving import rollout
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

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
    print(f"endpoint {paths.name!r} now serves {_served(record)}")
    return 0


def _promote(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    import getpass

    from showcase.serving import promotion, rollout

    approval = (args.approver or getpass.getuser(), args.comment) if args.approve else None
    record = promotion.promote(
        settings,
        args.source,
        args.target,
        approval=approval,
        monitoring=_monitoring(settings, args.target),
        report=_progress,
        pace=rollout.Pace(swap_timeout_s=args.timeout),
    )
    if record is not None:
        print(f"endpoint {args.target!r} now serves {_served(record)}, promoted from {args.source!r}")
    return 0


def _monitoring(settings: settings_module.Settings, name: str) -> Any:
    from showcase.monitoring.published import MonitoringMetrics
    from showcase.store import ObjectStore

    store = ObjectStore(settings.store_root)
    return lambda since: MonitoringMetrics(store, name, since)


def _progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _served(record: dict[str, Any]) -> str:
    return ", ".join(f"{arn} ({variant})" for variant, arn in record["To"].items())


def _named_paths(args: argparse.Namespace, settings: settings_module.Settings) -> Any:
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

    name = endpoint_name_of(_config(args.config)) if args.config else (args.endpoint_name or DEFAULT_ENDPOINT_NAME)
    return EndpointPaths(settings.home, name)


def _status(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from showcase.serving.deployment import child_pids, read_deployment, read_server_info
    from showcase.serving.metrics import read_worker_files

    paths = _named_paths(args, settings)
    deployment = read_deployment(paths)
    if deployment is None:
        raise UsageError(f"endpoint {paths.name!r} has never been deployed under {settings.home}")
    running = read_server_info(paths)
    live = set(child_pids(running.pid)) if running else set()
    workers = read_worker_files(paths.workers_dir)
    summary = _summary(paths.name, deployment, running, live, workers)
    summary.update(_variants(paths, deployment))
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _variants(paths: Any, deployment: Any) -> dict[str, Any]:
    """The variants with their shares, and the last deployment: its status, step, alarms and outcome."""
    from showcase.serving import rollout

    def variants_of(fleet: Any, share: float) -> list[dict[str, Any]]:
        shares = fleet.shares()
        found = [
            {
                "VariantName": v.name,
                "ModelPackageArn": v.model_package_arn,
                "CurrentWeight": round(shares[v.name] * share, 6),
            }
            for v in fleet.variants
        ]
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
            answer["EndpointStatus"] = last["Status"]
    return answer


def _summary(name: str, deployment: Any, running: Any, live: set[int], workers: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(entry.get("requests", 0) for entry in workers)
    by_status: dict[str, int] = {}
    for entry in workers:
        for status, count in entry.get("by_status", {}).items():
            by_status[status] = by_status.get(status, 0) + count
    latency = sum(entry.get("latency_ms_sum", 0.0) for entry in workers)
    return {
        "EndpointName": name,
        "EndpointStatus": "InService" if running else "Stopped",
        "Url": running.url if running else None,
        "Pid": running.pid if running else None,
        "ModelPackageArn": deployment.model_package_arn,
        "Generation": deployment.generation,
        "DeployedAt": deployment.deployed_at,
        "DataCapture": {
            "Enabled": deployment.capture.enabled,
            "SamplingPercentage": deployment.capture.sampling_percentage,
            "DestinationS3Uri": deployment.capture.destination_uri,
        },
        "Workers": [
            {key: entry.get(key) for key in ("pid", "model_package_arn", "generation", "swap_error", "requests")}
            for entry in workers
            if entry.get("pid") in live
        ],
        "Requests": requests,
        "RequestsByStatus": by_status,
        "MeanLatencyMs": round(latency / requests, 3) if requests else None,
        "HealthChecks": sum(entry.get("health_checks", 0) for entry in workers),
    }


def _stop(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from showcase.processes import pid_alive
    from showcase.serving.deployment import read_server_info
    from showcase.serving.errors import EndpointNotRunning, ServingError

    paths = _named_paths(args, settings)
    running = read_server_info(paths)
    if running is None:
        raise EndpointNotRunning(paths.name)
    os.kill(running.pid, signal.SIGTERM)  # gunicorn: stop accepting, finish in-flight requests, exit
    deadline = time.monotonic() + args.timeout
    while pid_alive(running.pid):
        if time.monotonic() > deadline:
            raise ServingError(f"endpoint {paths.name!r} (pid {running.pid}) did not stop within {args.timeout:g} s")
        time.sleep(0.1)
    print(f"endpoint {paths.name!r} stopped")
    return 0


if __name__ == "__main__":
    sys.exit(entry())
