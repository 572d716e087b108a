"""``showcase endpoint deploy`` and ``promote``: updating the running endpoint as UpdateEndpoint does."""

from __future__ import annotations

import os
import time
from typing import Any

from showcase.cli.common import Context, read_json_file
from showcase.cli.endpoint_serve import note
from showcase.deployment.config import parse_endpoint_config
from showcase.statuses import EndpointStatus


def deploy(ctx: Context) -> int:
    from showcase.serving import rollout, rollout_policy
    from showcase.serving.deployment import EndpointPaths, endpoint_name_of

    os.environ["OMP_NUM_THREADS"] = "1"
    args, settings = ctx.args, ctx.settings
    raw = read_json_file(args.config, "endpoint config")
    config = parse_endpoint_config(raw, args.config)
    paths = EndpointPaths(settings.home, endpoint_name_of(config))
    policy: rollout_policy.Policy | None
    if raw.get("DeploymentConfig"):
        policy = rollout_policy.policy_of(
            raw["DeploymentConfig"], raw.get("Alarms") or [], endpoint_name=paths.name, source=args.config
        )
    else:
        policy = rollout_policy.policy_of_parameters(config.parameters, paths.name, args.config)
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


def promote(ctx: Context) -> int:
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
    note(f"{time.strftime('%H:%M:%S')} {message}")
