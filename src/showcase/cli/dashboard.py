"""``showcase-dashboard``: executions, models and endpoints in a browser, served on 127.0.0.1.

showcase-dashboard [--home DIR] [--host 127.0.0.1] [--port 8765] [--open] [--allowed-host NAME ...]
showcase-dashboard --aws --region eu-west-1      # the AWS account's pipelines and model packages
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import webbrowser
from collections.abc import Sequence

from showcase import settings as settings_module
from showcase.cli.common import HOME_HELP, ArgumentParser, add_allowed_host, add_log_level, configure_logging, run_cli
from showcase.dashboard import Source, create_app
from showcase.dashboard.app import HTTP_LIMITS
from showcase.errors import UsageError
from showcase.serving.bounds import uvicorn_config
from showcase.serving.hosts import allowed_hosts

logger = logging.getLogger(__name__)
DEFAULT_PORT = 8765


def port_flag(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="showcase-dashboard", description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--home", help=HOME_HELP)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_flag, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0 takes a free port"
    )
    parser.add_argument("--open", action="store_true", help="open the dashboard in a browser once it listens")
    add_allowed_host(parser)
    parser.add_argument("--aws", action="store_true", help="read SageMaker (boto3's credentials) instead")
    parser.add_argument("--region", help="AWS region for --aws (default: boto3's, e.g. AWS_DEFAULT_REGION)")
    add_log_level(parser, default="INFO")
    return parser


def make_source(args: argparse.Namespace) -> Source:
    if args.aws:
        from showcase.aws.dashboard_source import AwsSource

        return AwsSource.connect(region=args.region)
    if args.region:
        raise UsageError("--region only applies with --aws")
    return _local(args.home)


def _local(home: str | None) -> Source:
    from showcase.dashboard.local_source import LocalSource

    return LocalSource(settings_module.load(home))


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        names = allowed_hosts(args.host, args.allowed_host)
    except ValueError as exc:
        raise UsageError(f"--host {args.host!r}: {exc}") from None
    app = create_app(make_source(args), allowed_hosts=names)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("listening on %s: anyone who can reach it can approve models and retry executions", args.host)
    listener = _bind(args.host, args.port)  # bound here, so --port 0 gets a free port and the URL names it
    host, port = listener.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    if args.open:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    print(f"dashboard on {url}", flush=True)
    uvicorn.Server(uvicorn_config(app, HTTP_LIMITS, log_level="warning")).run(sockets=[listener])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None
    listener.listen(128)
    return listener


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(entry())
