"""The dashboard's Starlette application: pages, one JSON endpoint per live page, and the error pages.

Every page reads through a ``Source``. What stops another site from acting through a visitor's browser:

- a request must name this server in its Host (``serving.hosts.HostGuard``: the loopback names, the bound
  address, ``--allowed-host``), which a DNS-rebinding page cannot;
- a POST must come from the dashboard's own origin (the ``Origin`` header, else ``Referer``, must match the
  host the request was sent to), so another page cannot make a visitor's browser approve a model;
- every response forbids framing (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``; the reports,
  framed by the compare page, allow only this origin), loads script and style only from here, is not
  sniffed as another type, and sends no Referer to other sites (``SECURITY_HEADERS``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from showcase.dashboard import pages
from showcase.dashboard.source import APPROVE_ANYWAY, DashboardError, Source
from showcase.errors import AwsError, ShowcaseError
from showcase.reporting import STATUS_STYLES, how_long, when
from showcase.serving.bounds import Limits
from showcase.serving.hosts import LOOPBACK_NAMES, HostGuard
from showcase.statuses import TERMINAL

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HTTP_LIMITS = Limits(max_body_bytes=64 * 1024)
"""What one connection may send the dashboard (``serving.bounds``); its largest form is a decision's 1,000-character
reason."""
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
"""Sent with every response that does not set its own (a report sets a stricter CSP that lets this origin frame it)."""


class SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every response, each unless the response already has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def shown(value: Any) -> str:
    """A parameter's or a field's value as SageMaker writes it: booleans ``true``/``false``, nothing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.filters.update(when=when, how_long=how_long, number=number, value=shown)
    found.env.globals.update(
        statuses={status: style.tone for status, style in STATUS_STYLES.items()},
        terminal=sorted(TERMINAL),
        approve_anyway=APPROVE_ANYWAY,
    )
    return found


def same_origin(request: Request) -> bool:
    """True when the request says it came from a page of this server (Origin, else Referer)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def create_app(source: Source, *, allowed_hosts: Iterable[str] = LOOPBACK_NAMES) -> Starlette:
    """The dashboard for ``source``, answering requests sent to one of ``allowed_hosts`` (any port)."""
    views = templates()

    async def origin_guard(request: Request, call_next: Any) -> Response:
        if request.method not in SAFE_METHODS and not same_origin(request):
            return error_page(request, 403, "this form must be sent from the dashboard's own pages (cross-origin)")
        response: Response = await call_next(request)
        return response

    def error_page(request: Request, status: int, message: str) -> Response:
        return views.TemplateResponse(
            request, "error.html", {"title": f"{status}", "status": status, "message": message}, status_code=status
        )

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, DashboardError):
            return error_page(request, exc.status_code, str(exc))
        if isinstance(exc, AwsError):
            return error_page(request, 502, str(exc))
        if isinstance(exc, ShowcaseError):
            return error_page(request, 400, str(exc))
        if isinstance(exc, HTTPException):
            return error_page(request, exc.status_code, exc.detail)
        raise exc

    app = Starlette(
        routes=[*pages.routes(), Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(HostGuard, allowed=allowed_hosts),
            Middleware(BaseHTTPMiddleware, dispatch=origin_guard),
        ],
        exception_handlers={ShowcaseError: on_error, HTTPException: on_error},
    )
    app.state.source = source
    app.state.templates = views
    return app
