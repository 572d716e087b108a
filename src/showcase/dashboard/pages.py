"""The dashboard's pages and their JSON twins: executions, models, endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from showcase.dashboard.graph import render_svg
from showcase.dashboard.source import DashboardError, Execution, NotFound, Package, Source
from showcase.reporting import how_long
from showcase.statuses import ApprovalStatus

DECISIONS = {"approve": ApprovalStatus.APPROVED, "reject": ApprovalStatus.REJECTED}
COMPARED = ("mse", "rmse", "mae", "r2")
MAX_VERSION = 2**31 - 1
"""ModelPackageVersion is an Integer in SageMaker's API (a 32-bit int, from 1): no package has a larger one."""
DOCUMENT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}
"""A report (the evaluation job's, a monitoring run's) is shown as a document that never runs script here; the
compare page frames two of them, so this origin, and only it, may frame one."""


def _source(request: Request) -> Source:
    source: Source = request.app.state.source
    return source


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("source_title", _source(request).title)
    response: Response = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


def _version(request: Request) -> tuple[str, int]:
    return request.path_params["group"], version_number(request.path_params["version"])


def version_number(text: str) -> int:
    """A model package version from a URL: a whole number from 1 to ``MAX_VERSION``, else NotFound."""
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_VERSION))) or not (
        1 <= int(text) <= MAX_VERSION
    ):
        raise NotFound(f"model package version must be a whole number from 1 to {MAX_VERSION}, got {text[:40]!r}")
    return int(text)


# -- executions ------------------------------------------------------------------------------------


def execution_json(execution: Execution) -> dict[str, Any]:
    return {
        "execution_id": execution.execution_id,
        "status": execution.status,
        "failure_reason": execution.failure_reason,
        "start": _iso(execution.start),
        "end": _iso(execution.end),
        "duration": execution.duration,
        "duration_text": how_long(execution.duration),
        "steps": [
            {
                "name": step.name,
                "type": step.type,
                "status": step.status,
                "start": _iso(step.start),
                "end": _iso(step.end),
                "duration": step.duration,
                "duration_text": how_long(step.duration),
                "failure_reason": step.failure_reason,
            }
            for step in execution.steps
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def home(request: Request) -> Response:
    return RedirectResponse("/executions", status_code=303)


async def executions(request: Request) -> Response:
    return _page(request, "executions.html", title="Executions", executions=_source(request).executions())


async def executions_api(request: Request) -> Response:
    return JSONResponse({"executions": [execution_json(e) for e in _source(request).executions()]})


async def execution(request: Request) -> Response:
    found = _source(request).execution(request.path_params["execution_id"])
    statuses = {step.name: step.status for step in found.steps}
    jobs = {step.name: [(job.name, job.status, job.detail or "") for job in step.jobs] for step in found.steps}
    graph = (
        render_svg(found.definition, statuses, lambda step: f"/executions/{found.execution_id}/steps/{step}", jobs)
        if found.definition
        else None
    )
    return _page(request, "execution.html", title=f"Execution {found.execution_id}", execution=found, graph=graph)


async def execution_api(request: Request) -> Response:
    return JSONResponse(execution_json(_source(request).execution(request.path_params["execution_id"])))


async def step(request: Request) -> Response:
    execution_id, name = request.path_params["execution_id"], request.path_params["step"]
    found = _source(request).execution(execution_id)
    log = _source(request).step_log(execution_id, name)
    record = next((s for s in found.steps if s.name == name), None) or next(
        job for s in found.steps for job in s.jobs if job.name == name
    )
    callback = _source(request).waiting_callback(execution_id, name)
    return _page(
        request, "step.html", title=f"{name} · {execution_id}", execution=found, step=record, log=log,
        callback=callback,
    )  # fmt: skip


async def complete_callback(request: Request) -> Response:
    """The form of a waiting Callback step: Complete (with its declared outputs' values) or Fail (with a reason)."""
    execution_id, name = request.path_params["execution_id"], request.path_params["step"]
    form = await request.form()
    outcome = str(form.get("outcome", ""))
    if outcome not in ("success", "failure"):
        raise DashboardError(f"outcome must be success or failure, got {outcome!r}")
    outputs = {str(key).removeprefix("output:"): str(value) for key, value in form.items() if key.startswith("output:")}
    failure = str(form.get("reason", "")).strip() if outcome == "failure" else None
    _source(request).complete_callback(execution_id, name, outputs, failure)
    return RedirectResponse(f"/executions/{execution_id}/steps/{name}", status_code=303)


async def retry(request: Request) -> Response:
    execution_id = request.path_params["execution_id"]
    _source(request).retry(execution_id)
    return RedirectResponse(f"/executions/{execution_id}", status_code=303)


# -- models ----------------------------------------------------------------------------------------


async def models(request: Request) -> Response:
    source = _source(request)
    groups = source.groups()
    packages = {group.name: source.packages(group.name) for group in groups}
    return _page(request, "models.html", title="Models", groups=groups, packages=packages)


async def package(request: Request) -> Response:
    group, version = _version(request)
    found = _source(request).package(group, version)
    others = [p for p in _source(request).packages(group) if p.version != version]
    return _page(
        request,
        "package.html",
        title=f"{found.ref}",
        package=found,
        others=others,
        changed=request.query_params.get("changed"),
    )


async def report(request: Request) -> Response:
    group, version = _version(request)
    body = _source(request).report(group, version)
    return Response(body, media_type="text/html; charset=utf-8", headers=DOCUMENT_HEADERS)


async def compare(request: Request) -> Response:
    refs = [request.query_params.get("a", ""), request.query_params.get("b", "")]
    found: list[Package] = []
    for ref in refs:
        group, _, version = ref.rpartition("/")
        if not group or not version:
            raise DashboardError(f"compare needs ?a=<group>/<version>&b=<group>/<version>, got {ref[:80]!r}")
        found.append(_source(request).package(group, version_number(version)))
    rows = [(name, found[0].metric(name), found[1].metric(name)) for name in COMPARED]
    parameters = sorted(set(_parameters(found[0])) | set(_parameters(found[1])))
    return _page(
        request,
        "compare.html",
        title=f"{found[0].ref} vs {found[1].ref}",
        a=found[0],
        b=found[1],
        rows=rows,
        parameters=[(name, _parameters(found[0]).get(name), _parameters(found[1]).get(name)) for name in parameters],
    )


def _parameters(found: Package) -> dict[str, Any]:
    return dict((found.lineage or {}).get("Parameters") or {})


async def decide(request: Request) -> Response:
    group, version = _version(request)
    form = await request.form()
    action = str(form.get("action", ""))
    if action not in DECISIONS:
        raise DashboardError(f"action must be one of {', '.join(DECISIONS)}, got {action!r}")
    description = str(form.get("description", "")).strip()
    force = form.get("force") == "yes"
    source = _source(request)
    if form.get("confirmed") != "yes":
        found = source.package(group, version)
        return _page(
            request,
            "confirm.html",
            title=f"Confirm: {action} {found.ref}",
            package=found,
            action=action,
            status=DECISIONS[action],
            description=description,
            force=force,
        )
    change = source.set_status(group, version, DECISIONS[action], description, force=force)
    note = f"{change.before} -> {change.after}" if change.changed else f"already {change.after}; nothing changed"
    return RedirectResponse(f"/models/{group}/{version}?{urlencode({'changed': note})}", status_code=303)


# -- endpoints -------------------------------------------------------------------------------------


async def endpoints(request: Request) -> Response:
    return _page(request, "endpoints.html", title="Endpoints", endpoints=_source(request).endpoints())


async def endpoint(request: Request) -> Response:
    found = _source(request).endpoint(request.path_params["name"])
    return _page(
        request,
        "endpoint.html",
        title=f"Endpoint {found.name}",
        endpoint=found,
        changed=request.query_params.get("changed"),
    )


async def promote(request: Request) -> Response:
    """Approve promoting what this endpoint serves to another, and start deploying it there."""
    name = request.path_params["name"]
    form = await request.form()
    target, approver = str(form.get("target", "")).strip(), str(form.get("approver", "")).strip()
    if not target:
        raise DashboardError("choose the endpoint to promote to")
    if not approver:
        raise DashboardError("give the approver's name: the approval is recorded with it")
    note = _source(request).promote(name, target, approver, str(form.get("comment", "")).strip())
    return RedirectResponse(f"/endpoints/{target}?{urlencode({'changed': note})}", status_code=303)


async def monitoring_report(request: Request) -> Response:
    body = _source(request).monitoring_report(request.path_params["name"], request.path_params["run_id"])
    return Response(body, media_type="text/html; charset=utf-8", headers=DOCUMENT_HEADERS)


async def endpoint_api(request: Request) -> Response:
    found = _source(request).endpoint(request.path_params["name"])
    return JSONResponse(
        {
            "name": found.name,
            "status": found.status,
            "requests": found.requests,
            "errors": found.errors,
            "mean_latency_ms": found.mean_latency_ms,
            "p95_latency_ms": found.p95_latency_ms,
        }
    )


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/favicon.ico", favicon),
        Route("/executions", executions),
        Route("/api/executions", executions_api),
        Route("/executions/{execution_id}", execution),
        Route("/api/executions/{execution_id}", execution_api),
        Route("/executions/{execution_id}/steps/{step}", step),
        Route("/executions/{execution_id}/retry", retry, methods=["POST"]),
        Route("/executions/{execution_id}/steps/{step}/callback", complete_callback, methods=["POST"]),
        Route("/models", models),
        Route("/models/compare", compare),
        Route("/models/{group}/{version}", package),
        Route("/models/{group}/{version}/report", report),
        Route("/models/{group}/{version}/decide", decide, methods=["POST"]),
        Route("/endpoints", endpoints),
        Route("/endpoints/{name}", endpoint),
        Route("/endpoints/{name}/monitoring/{run_id}/report", monitoring_report),
        Route("/endpoints/{name}/promote", promote, methods=["POST"]),
        Route("/api/endpoints/{name}", endpoint_api),
    ]
