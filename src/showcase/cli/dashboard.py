"""``showcase dashboard``: executions, models and endpoints in a browser, served on 127.0.0.1.

    showcase dashboard [--home DIR] [--host 127.0.0.1] [--port 8765] [--open] [--allowed-host NAME ...]
    showcase dashboard --aws --region eu-west-1      # the AWS account's pipelines and model packages

It prints its URL once it listens (``--port 0`` takes a free port), whatever the log level.
``showcase-dashboard`` is ``showcase dashboard``.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import webbrowser
from collections.abc import Sequence
from typing import TYPE_CHECKING

from showcase.cli.common import Context, add_allowed_host
from showcase.errors import UsageError

if TYPE_CHECKING:
    from showcase.dashboard import Source

logger = logging.getLogger(__name__)
DEFAULT_PORT = 8765


def port_flag(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase dashboard``."""
    parser = commands.add_parser(
        "dashboard", help="executions, models and endpoints in a browser, served on 127.0.0.1",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_flag, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0 takes a free port"
    )
    parser.add_argument("--open", action="store_true", help="open the dashboard in a browser once it listens")
    add_allowed_host(parser)
    parser.add_argument("--aws", action="store_true", help="read SageMaker (boto3's credentials) instead")
    parser.add_argument("--region", help="AWS region for --aws (default: boto3's, e.g. AWS_DEFAULT_REGION)")
    parser.set_defaults(handler=_serve)


def make_source(ctx: Context) -> Source:
    if ctx.args.aws:
        from showcase.aws.dashboard_source import AwsSource

        return AwsSource.connect(region=ctx.args.region)
    if ctx.args.region:
        raise UsageError("--region only applies with --aws")
    from showcase.dashboard.local_source import LocalSource

    return LocalSource(ctx.settings)


def _serve(ctx: Context) -> int:
    import uvicorn

    from showcase.dashboard import create_app
    from showcase.dashboard.app import HTTP_LIMITS
    from showcase.serving.bounds import uvicorn_config
    from showcase.serving.hosts import allowed_hosts

    args = ctx.args
    try:
        names = allowed_hosts(args.host, args.allowed_host)
    except ValueError as exc:
        raise UsageError(f"--host {args.host!r}: {exc}") from None
    app = create_app(make_source(ctx), allowed_hosts=names)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("listening on %s: anyone who can reach it can approve models and retry executions", args.host)
    listener = _bind(args.host, args.port)  # bound here, so --port 0 gets a free port and the URL names it
    host, port = listener.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    ctx.out.document({"Url": url})
    ctx.out.line(f"dashboard on {url}")
    sys.stdout.flush()
    if args.open:
        _open_later(url)
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


def _open_later(url: str) -> None:
    """Open ``url`` in the user's browser a second after the server starts; say so when there is none."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        print(f"--open: no web browser found here (set BROWSER to one); open {url} yourself", file=sys.stderr)
        return
    threading.Timer(1.0, browser.open, args=(url,)).start()


def entry(argv: Sequence[str] | None = None) -> int:
    """``showcase-dashboard``: another name of ``showcase dashboard``."""
    from showcase.cli.main import alias

    return alias("dashboard")(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from showcase.cli import main as showcase

    return showcase.main(["dashboard", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(entry())
