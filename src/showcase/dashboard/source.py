"""What the dashboard shows, and the one interface it reads it through.

A ``Source`` answers with the plain records below; ``LocalSource`` (``showcase.dashboard.local_source``) reads
the local runtime, registry, object store and endpoint files, ``AwsSource`` (``showcase.aws.dashboard_source``)
reads SageMaker through boto3. Pages never know which one they got.

    DashboardError            a request the dashboard cannot answer (carries the HTTP status)
    ├── NotFound              no execution, step, package, report or endpoint by that name (404)
    ├── Conflict              the request contradicts the current state, e.g. approving a Rejected package (409)
    └── Unsupported           this source cannot do that (a retry on a source that has none) (501)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from showcase.errors import ShowcaseError
from showcase.registry.approval import ApprovalRefused, Decision
from showcase.reporting import StepReport, duration, regression_metric


class DashboardError(ShowcaseError):
    status_code = 400


class NotFound(DashboardError):
    status_code = 404


class Conflict(DashboardError):
    status_code = 409


APPROVE_ANYWAY = "approve even though it was rejected"
"""The label of the checkbox that forces approving a Rejected package (the CLI's ``--force``)."""


def approval_conflict(refused: ApprovalRefused) -> Conflict:
    """The 409 for approving a Rejected package, saying how to force it on the dashboard."""
    return Conflict(f"{refused.refusal}; to approve it anyway, go back, tick “{APPROVE_ANYWAY}” and approve again")


class Unsupported(DashboardError):
    status_code = 501


@dataclass(frozen=True)
class Execution:
    execution_id: str
    pipeline_name: str
    status: str
    start: datetime | None
    end: datetime | None = None
    failure_reason: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: tuple[StepReport, ...] = ()
    definition: dict[str, Any] | None = None
    """The pipeline definition JSON, for the step graph (None when unknown)."""
    registered: tuple[Package, ...] = ()
    """The model packages its RegisterModel steps registered, with their metrics (when the source can tell)."""

    @property
    def duration(self) -> float | None:
        return duration(self.start, self.end)

    @property
    def shape(self) -> str | None:
        """What kind of run this is, from its definition: ``7 steps``, ``9 steps, tuned (20 trials)``."""
        if self.definition is None:
            return None
        steps = _all_steps(self.definition.get("Steps"))
        text = f"{len(steps)} step{'s' if len(steps) != 1 else ''}"
        tuning = [step for step in steps if step.get("Type") == "Tuning"]
        if tuning:
            config = (tuning[0].get("Arguments") or {}).get("HyperParameterTuningJobConfig") or {}
            trials = (config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs")
            text += ", tuned" + (f" ({trials} trials)" if isinstance(trials, int) else "")
        return text

    @property
    def overrides(self) -> dict[str, Any]:
        """The parameters whose value is not the definition's default (all of them without a definition)."""
        if self.definition is None:
            return dict(self.parameters)
        defaults = {p.get("Name"): p.get("DefaultValue") for p in self.definition.get("Parameters") or []}
        return {name: value for name, value in self.parameters.items() if defaults.get(name) != value}


def _all_steps(steps: Any) -> list[dict[str, Any]]:
    """Every step of a definition, those inside a Condition's branches too."""
    found: list[dict[str, Any]] = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            found.append(step)
            arguments: dict[str, Any] = step["Arguments"] if isinstance(step.get("Arguments"), dict) else {}
            found += _all_steps(arguments.get("IfSteps")) + _all_steps(arguments.get("ElseSteps"))
    return found


@dataclass(frozen=True)
class Group:
    name: str
    created: datetime | None
    packages: int
    approved: int


@dataclass(frozen=True)
class Package:
    group: str
    version: int
    arn: str
    status: str
    created: datetime | None
    metrics: dict[str, Any] | None = None
    """The evaluation document (``regression_metrics``...), when the source can read it."""
    description: str | None = None
    approval_description: str | None = None
    model_data_url: str | None = None
    report_uri: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"{self.group}/{self.version}"

    def metric(self, name: str) -> float | None:
        return regression_metric(self.metrics, name)


@dataclass(frozen=True)
class Capture:
    time: str
    request: str
    response: str


@dataclass(frozen=True)
class MonitoringRun:
    """One data-quality monitoring run over the endpoint's captures (``showcase.monitoring``'s run.json)."""

    run_id: str
    status: str
    since: str | None
    until: str
    rows: int
    malformed_lines: int
    violations: tuple[dict[str, str], ...] = ()
    has_report: bool = False


@dataclass(frozen=True)
class Monitoring:
    """The endpoint's monitoring runs, newest first, and the per-feature plots of the newest complete one."""

    runs: tuple[MonitoringRun, ...] = ()
    plots: tuple[tuple[str, str], ...] = ()
    """``(feature, inline SVG markup)``: baseline against captured distribution, drawn by showcase.monitoring."""
    note: str | None = None
    """Why nothing is shown, when a source cannot show monitoring."""


@dataclass(frozen=True)
class Variant:
    """A variant the endpoint serves: its share of the traffic now (0 for a shadow, which gets a copy)."""

    name: str
    model_package_arn: str
    share: float
    fleet: str = "serving"
    """``serving``, or ``new`` for the fleet a deployment is moving traffic to."""
    shadow: bool = False


@dataclass(frozen=True)
class Rollout:
    """One deployment of the endpoint (``showcase.serving.rollout``'s record)."""

    deployment_id: str
    status: str
    outcome: str | None
    reason: str | None
    routing: str
    step: int
    steps: int
    new_share: float
    started: str
    ended: str | None
    to: dict[str, str] = field(default_factory=dict)
    events: tuple[tuple[str, str], ...] = ()
    alarms: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class QualityRun:
    """One model-quality run: the endpoint's predictions joined with their ground truth."""

    run_id: str
    status: str
    until: str
    pairs: int
    metrics: dict[str, float] = field(default_factory=dict)
    violations: tuple[dict[str, str], ...] = ()
    failure_reason: str | None = None


@dataclass(frozen=True)
class ModelQuality:
    runs: tuple[QualityRun, ...] = ()
    """Newest first."""
    plot: str | None = None
    """Inline SVG of mse over the runs, oldest left (Markup drawn by showcase.monitoring from numbers)."""


@dataclass(frozen=True)
class Promotion:
    """Where the endpoint's package may be promoted, and what the registry records about it."""

    targets: tuple[str, ...] = ()
    stage: str | None = None
    """The package's ModelLifeCycle: ``<stage>: <status> (<description>)``."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    status: str
    model_package_arn: str | None
    package_ref: str | None = None
    """``<group>/<version>`` of the package served, for a link to it."""
    requests: int = 0
    errors: int = 0
    mean_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    url: str | None = None
    captures: tuple[Capture, ...] = ()
    monitoring: Monitoring = field(default_factory=Monitoring)
    variants: tuple[Variant, ...] = ()
    rollouts: tuple[Rollout, ...] = ()
    """Its deployments, newest first."""
    model_quality: ModelQuality = field(default_factory=ModelQuality)
    promotion: Promotion = field(default_factory=Promotion)


class Source(Protocol):
    """Everything the pages read or change. Unknown names raise NotFound."""

    @property
    def title(self) -> str: ...

    def executions(self) -> list[Execution]: ...

    def execution(self, execution_id: str) -> Execution: ...

    def step_log(self, execution_id: str, step_name: str) -> str: ...

    def retry(self, execution_id: str) -> None:
        """Start re-running a Failed execution; return at once (pages poll for progress)."""
        ...

    def waiting_callback(self, execution_id: str, step_name: str) -> dict[str, Any] | None:
        """The token record of a Callback step that waits (``CallbackToken``, ``OutputParameters``: the names it
        declares); None when the step waits on none."""
        ...

    def complete_callback(self, execution_id: str, step: str, outputs: dict[str, str], failure: str | None) -> None:
        """SendPipelineExecutionStepSuccess with ``outputs``, or SendPipelineExecutionStepFailure with ``failure``;
        Conflict when the step waits on no token."""
        ...

    def groups(self) -> list[Group]: ...

    def packages(self, group: str) -> list[Package]:
        """Newest first, with metrics."""
        ...

    def package(self, group: str, version: int) -> Package:
        """One package with its description, metrics, report link and lineage."""
        ...

    def report(self, group: str, version: int) -> bytes:
        """The package's report.html."""
        ...

    def set_status(self, group: str, version: int, status: str, description: str, *, force: bool) -> Decision: ...

    def endpoints(self) -> list[Endpoint]: ...

    def endpoint(self, name: str) -> Endpoint:
        """One endpoint with its recent captured requests and its monitoring runs."""
        ...

    def monitoring_report(self, name: str, run_id: str) -> bytes:
        """The report.html of one monitoring run of an endpoint."""
        ...

    def promote(self, name: str, target: str, approver: str, comment: str) -> str:
        """Approve promoting what endpoint ``name`` serves to ``target`` and start deploying it there (the one
        approval rule, ``registry.approval``); return at once with what was started (pages poll for progress)."""
        ...
