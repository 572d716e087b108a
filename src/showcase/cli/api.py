"""``showcase api``: the AWS API on loopback (S3, SageMaker, SageMaker Runtime, STS, IAM, CloudFormation,
CloudWatch alarms, Lambda, SQS) over the home.

    showcase api [--port 4566] [--role-name NAME] [--home DIR]

Point any AWS SDK or the AWS CLI at it with ``AWS_ENDPOINT_URL=http://127.0.0.1:4566``. It listens on 127.0.0.1
only; any credentials are accepted (signatures are not checked) and none are logged or stored.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys

from showcase.cli.common import Context
from showcase.errors import UsageError

logger = logging.getLogger(__name__)

DEFAULT_PORT = 4566
"""LocalStack's port: tools set up for it find this API there."""
HOST = "127.0.0.1"


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase api``."""
    from showcase.settings import EXECUTION_ROLE_NAME  # the role builds, jobs and the API answer as

    api = commands.add_parser(
        "api",
        help="serve the AWS API (S3, SageMaker, STS, CloudFormation, Lambda, SQS, ...) over this home on 127.0.0.1",
        description="Serve S3, SageMaker, SageMaker Runtime, STS, IAM, CloudFormation, CloudWatch alarms, Lambda and "
        "SQS on 127.0.0.1 over the home's store, registry, executions, endpoints, stacks, functions and queues. Set "
        "AWS_ENDPOINT_URL=http://127.0.0.1:PORT for boto3, the AWS CLI and the SageMaker SDK.",
    )
    api.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)")
    api.add_argument(
        "--role-name",
        type=_role_name,
        help=f"the execution role STS says the caller has assumed (default {EXECUTION_ROLE_NAME})",
    )
    # A run of the home that starts the API for its own duration binds the port itself and hands it over.
    api.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    api.set_defaults(handler=run)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _role_name(text: str) -> str:
    import re

    if not re.match(r"^[\w+=,.@-]{1,64}$", text):
        raise argparse.ArgumentTypeError(f"expected an IAM role name (letters, digits and +=,.@_-), got {text!r}")
    return text


def run(ctx: Context) -> int:
    """Serve until Ctrl-C or SIGTERM."""
    import uvicorn

    from showcase.api import Identity, create_app
    from showcase.api.state import DEFAULT_ROLE_NAME
    from showcase.local.processes import awsapi

    args, settings = ctx.args, ctx.settings
    serving = awsapi.find(settings.home, besides=os.getpid())
    if serving is not None:  # one API per home: jobs and clients find it in the home
        raise UsageError(f"an API already serves {settings.home} on {serving}; use it (AWS_ENDPOINT_URL={serving})")
    app = create_app(settings, Identity(settings.account, args.role_name or DEFAULT_ROLE_NAME))
    listener = socket.socket(fileno=args.listen_fd) if args.listen_fd is not None else bind(HOST, args.port)
    url = f"http://{HOST}:{listener.getsockname()[1]}"
    ctx.out.document({"Url": url, "Home": settings.home})
    ctx.out.line(f"AWS API on {url} over {settings.home}; export AWS_ENDPOINT_URL={url}")
    sys.stdout.flush()
    config = uvicorn.Config(app, http="httptools", log_level="warning", access_log=False, lifespan="on")
    # uvicorn raises the SIGTERM it stopped on again once it has shut down: it ends the process here, after the
    # file that names this API is gone.
    signal.signal(signal.SIGTERM, _terminated)
    with awsapi.announce(settings.home, url):  # the runs of this home, and their jobs, use this API
        uvicorn.Server(config).run(sockets=[listener])
    return 0


def _terminated(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def bind(host: str, port: int) -> socket.socket:
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None
    listener.listen(1024)
    return listener
