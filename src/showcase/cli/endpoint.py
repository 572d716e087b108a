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

from showcase.cli import endpoint_deploy, endpoint_serve, endpoint_status
from showcase.cli.common import add_allowed_host, add_pickles_flag
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase endpoint ...``."""
    parser = commands.add_parser(
        "endpoint",
        help="the local endpoint: serve a model package, swap it, show its status, stop it",
        description="Serve a registered model locally with SageMaker's endpoint contracts (the XGBoost "
        "container's /ping and /invocations, and the Runtime API's /endpoints/NAME/invocations).",
    )
    endpoint = parser.add_subparsers(dest="endpoint_command", required=True, metavar="COMMAND")
    _add_serve(endpoint)
    _add_deploy_and_promote(endpoint)
    _add_status_and_stop(endpoint)


def _add_serve(endpoint: argparse._SubParsersAction) -> None:
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
    add_pickles_flag(serve).set_defaults(handler=endpoint_serve.serve)


def _add_deploy_and_promote(endpoint: argparse._SubParsersAction) -> None:
    deploy = endpoint.add_parser(
        "deploy", help="update the running endpoint: canary or linear with automatic rollback, or a hot swap"
    )
    deploy.add_argument("--config", required=True, help="endpoint config (deploy/endpoint_config_adj.json)")
    deploy.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )
    add_pickles_flag(deploy).set_defaults(handler=endpoint_deploy.deploy)

    promote = endpoint.add_parser("promote", help="deploy what one endpoint serves to another, once approved")
    promote.add_argument("--from", dest="source", required=True, metavar="NAME", help="the endpoint promoted from")
    promote.add_argument("--to", dest="target", required=True, metavar="NAME", help="the endpoint promoted to")
    promote.add_argument("--approve", action="store_true", help="record your approval of the promotion, then deploy")
    promote.add_argument("--comment", default="", help="why it is approved (kept with the approval)")
    promote.add_argument("--approver", default=None, help="who approves (default: the user running this)")
    promote.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for every worker to swap (default: 60)"
    )
    promote.set_defaults(handler=endpoint_deploy.promote)


def _add_status_and_stop(endpoint: argparse._SubParsersAction) -> None:
    for name, text, handler in (
        ("status", "the endpoint's model, workers and request metrics", endpoint_status.status),
        ("stop", "stop it, letting in-flight requests finish", endpoint_serve.stop),
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
