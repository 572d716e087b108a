"""Promoting what one local endpoint serves to another (staging -> production), behind a recorded approval.

``promote`` takes the model package the source endpoint's ``AllTraffic`` serves and deploys it to the target
endpoint with the target's own parameters (its deployment strategy and alarms: production's canary, say), through
``rollout.update_endpoint``, the one update path. Before anything moves, the package must be approved for the
target: ``registry.approval`` records that on the package as ModelLifeCycle (Stage = the target's name). Without it,
``promote`` records the request (StageStatus PendingApproval, who asked, from where) and refuses, leaving the target
untouched; approving (``approval=(approver, comment)``: the command line's ``--approve``, or the dashboard's
button) records who, when and why, then deploys.

A challenger or shadow the source serves stays there: they are experiments of that endpoint, not what it promotes.
"""

from __future__ import annotations

import getpass
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from showcase.deployment.config import EndpointConfig
from showcase.errors import NoSuchResource, RegistryError, UsageError
from showcase.registry import Registry
from showcase.registry.approval import approve_stage, approved_for, request_stage
from showcase.serving.alarms import MetricSource
from showcase.serving.deployment import EndpointPaths, read_deployment, read_server_info
from showcase.serving.errors import EndpointNotRunning, PromotionNotApproved
from showcase.serving.rollout import Pace, policy_of_parameters, update_endpoint
from showcase.settings import Settings


@dataclass(frozen=True)
class Promotion:
    """What would move: the package the source serves, and the target's parameters with it."""

    source: str
    target: str
    model_package_arn: str
    parameters: dict[str, str]
    already_served: bool


def plan(settings: Settings, source: str, target: str) -> Promotion:
    if source == target:
        raise UsageError(f"--from and --to both name {source!r}; promote from one endpoint to another")
    served = read_deployment(EndpointPaths(settings.home, source))
    if served is None:
        raise NoSuchResource(f"endpoint {source!r} has never been deployed under {settings.home}: nothing to promote")
    target_paths = EndpointPaths(settings.home, target)
    current = read_deployment(target_paths)
    if current is None or read_server_info(target_paths) is None:
        raise EndpointNotRunning(target, " (a promotion deploys to a running endpoint: serve it first with its config)")
    if not current.parameters:
        raise UsageError(
            f"endpoint {target!r} was deployed without its config's parameters kept; deploy it once with "
            "showcase endpoint deploy --config ... and promote again"
        )
    arn = served.model_package_arn
    parameters = {**current.parameters, "ModelPackageName": arn}
    return Promotion(source, target, arn, parameters, current.model_package_arn == arn)


def approve(settings: Settings, promotion: Promotion, *, approver: str, comment: str) -> None:
    """Record that ``approver`` approved the promotion (ModelLifeCycle of the package)."""
    approve_stage(
        Registry.from_settings(settings),
        promotion.model_package_arn,
        promotion.target,
        approver=approver,
        comment=comment,
    )


def promote(
    settings: Settings,
    source: str,
    target: str,
    *,
    approval: tuple[str, str] | None = None,
    monitoring: Callable[[float], MetricSource] | None = None,
    report: Callable[[str], None] = lambda message: None,
    pace: Pace | None = None,
) -> dict[str, Any] | None:
    """Deploy the source's package to the target once approved; the deployment's record (None: already served).

    Raises PromotionNotApproved (the request recorded, the target untouched) when nobody approved it yet, and
    DeploymentRolledBack when the target's deployment rolled back."""
    promotion = plan(settings, source, target)
    registry = Registry.from_settings(settings)
    if approval is not None:
        approve(settings, promotion, approver=approval[0], comment=approval[1])
    try:
        package = registry.describe_model_package(ModelPackageName=promotion.model_package_arn)
    except RegistryError as exc:
        raise UsageError(f"endpoint {source!r} serves {promotion.model_package_arn}: {exc}") from None
    if not approved_for(package, target):
        request_stage(
            registry,
            promotion.model_package_arn,
            target,
            requested_by=_user(),
            note=f"promotion from endpoint {source} to {target} asked for",
        )
        raise PromotionNotApproved(
            f"{promotion.model_package_arn} is not approved for endpoint {target!r}, which is left untouched; the "
            f"request is recorded (PendingApproval): approve it with showcase endpoint promote --from {source} --to "
            f"{target} --approve --comment TEXT, or on the dashboard's page of endpoint {source}",
            model_package_arn=promotion.model_package_arn,
            stage=target,
        )
    if promotion.already_served:
        report(f"endpoint {target!r} already serves {promotion.model_package_arn}")
        return None
    config = EndpointConfig(parameters=promotion.parameters)
    what = f"the promotion of {promotion.model_package_arn} from {source} to {target}"
    return update_endpoint(
        EndpointPaths(settings.home, target),
        settings,
        config,
        source=what,
        policy=policy_of_parameters(promotion.parameters, target, what),
        monitoring=monitoring,
        report=report,
        pace=pace,
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "someone"


def start_in_background(settings: Settings, source: str, target: str) -> subprocess.Popen[bytes]:
    """Run an approved promotion in a process of its own (the dashboard's button: a deployment bakes for minutes);
    its lines go to ``<home>/endpoints/<target>/promote.log``."""
    paths = EndpointPaths(settings.home, target)
    paths.root.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "showcase.cli.endpoint", "promote", "--from", source, "--to", target]
    with (paths.root / "promote.log").open("ab") as log:
        return subprocess.Popen(
            [*command, "--home", str(settings.home)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
