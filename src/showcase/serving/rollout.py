"""Updating an endpoint as UpdateEndpoint does with a DeploymentConfig: blue/green, traffic shifted step by step,
each step baked, and rolled back by itself when an alarm trips.

The deployment (SageMaker's ``DeploymentConfig``, or the template's parameters that make it, ``policy_of_parameters``):

    BlueGreenUpdatePolicy
      TrafficRoutingConfiguration   Type ALL_AT_ONCE (all traffic, then one baking period) | CANARY (CanarySize,
                                    baked, then the rest, baked) | LINEAR (LinearStepSize at a time, each baked);
                                    WaitIntervalInSeconds: the baking period
      TerminationWaitInSeconds      the old fleet is kept this long after all traffic moved, alarms still watched
      MaximumExecutionTimeoutInSeconds   a deployment that runs longer rolls back
    AutoRollbackConfiguration       Alarms: the alarms (``alarms.Alarm``, their PutMetricAlarm requests given
                                    beside) that roll the deployment back when one is in ALARM

What happens, in the process that deploys (``update_endpoint``; ``showcase endpoint deploy`` and the local API's
UpdateEndpoint both run it):

1. one deployment at a time (``deploy.lock``); the new fleet's packages resolved, extracted and loaded;
2. ``deployment.json`` names the new fleet with 0 % of the traffic: every worker loads its models;
3. for each step, the new fleet's share is written and every worker has taken it before baking starts; while
   baking, the workers' metrics are read and every alarm evaluated each ``poll_s``;
4. all steps baked and the termination wait over: the new fleet serves alone (``previous`` keeps the old one);
5. an alarm in ALARM, the execution timeout, a worker refusing a model, or an interruption (Ctrl-C, SIGTERM):
   the new fleet's share goes back to nothing at once (RollingBack), and the old fleet serves alone (InService).

Each deployment is a record, ``deployments/<id>.json``, rewritten at each change: status (``Updating``,
``RollingBack``, ``InService``), the step and share, the alarms' states, the events, and at the end the outcome
(``Succeeded``, ``RolledBack``, ``Failed``) and why. ``showcase endpoint status`` and the dashboard read it.
Without a DeploymentConfig, an update swaps every worker at once, with no baking (the hot swap).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase import clock
from showcase.clock import timestamp
from showcase.deployment.config import EndpointConfig
from showcase.errors import UsageError
from showcase.files import write_json_atomically
from showcase.processes import ProcessLock, pid_alive
from showcase.serving import alarms as alarms_module
from showcase.serving.alarms import ALARM, Alarm, AlarmState, EndpointMetrics, MetricSource
from showcase.serving.deployment import (
    Deployment,
    EndpointPaths,
    capture_config_of,
    child_pids,
    read_deployment,
    read_server_info,
    write_deployment,
)
from showcase.serving.errors import EndpointNotRunning, ServingError
from showcase.serving.fleet import Fleet, prepare_fleet
from showcase.serving.metrics import read_worker_files
from showcase.settings import Settings
from showcase.statuses import EndpointStatus

ROUTING_TYPES = ("ALL_AT_ONCE", "CANARY", "LINEAR")
UPDATING, ROLLING_BACK, IN_SERVICE = EndpointStatus.UPDATING, EndpointStatus.ROLLING_BACK, EndpointStatus.IN_SERVICE
SUCCEEDED, ROLLED_BACK, FAILED = "Succeeded", "RolledBack", "Failed"
DEFAULT_TIMEOUT_S = 3600


class DeploymentRolledBack(ServingError):
    """A deployment rolled back: the old fleet serves alone again. Carries the endpoint and why."""

    def __init__(self, endpoint_name: str, reason: str) -> None:
        super().__init__(f"endpoint {endpoint_name!r} rolled back to the fleet before: {reason}")
        self.endpoint_name = endpoint_name
        self.reason = reason


# -- the deployment config ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A checked DeploymentConfig with its alarms."""

    routing: str
    wait_s: int
    shares: tuple[float, ...]
    termination_wait_s: int
    max_execution_s: int
    alarms: tuple[Alarm, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    """The DeploymentConfig as given (DescribeEndpoint's LastDeploymentConfig)."""


def _bounded(value: Any, low: int, high: int, what: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high or value != int(value):
        raise UsageError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _capacity(size: Any, what: str, instance_count: int, low: float, high: float) -> float:
    """A CapacitySize as a share of the fleet: CAPACITY_PERCENT / 100, or INSTANCE_COUNT / instances."""
    if not isinstance(size, Mapping) or size.get("Type") not in ("INSTANCE_COUNT", "CAPACITY_PERCENT"):
        raise UsageError(f"{what} must be {{Type: INSTANCE_COUNT | CAPACITY_PERCENT, Value: n}}, got {size!r}")
    value = _bounded(size.get("Value"), 1, 10**6, f"{what}.Value")
    share = value / 100.0 if size["Type"] == "CAPACITY_PERCENT" else value / instance_count
    if not low <= share <= high:
        raise UsageError(
            f"{what} {size['Type']} {value} is {share:.0%} of the fleet ({instance_count} instance(s)); "
            f"it must be from {low:.0%} to {high:.0%}"
        )
    return share


def shares_of(routing: str, canary: float | None, step: float | None) -> tuple[float, ...]:
    """The new fleet's share of traffic after each step."""
    if routing == "CANARY" and canary is not None:
        return (canary, 1.0)
    if routing == "LINEAR" and step is not None:
        count = math.ceil(1.0 / step - 1e-9)
        return tuple(min(1.0, round(step * n, 6)) for n in range(1, count + 1))
    return (1.0,)


def policy_of(
    config: Mapping[str, Any],
    alarm_requests: Sequence[Mapping[str, Any]],
    *,
    endpoint_name: str,
    instance_count: int = 1,
    source: str = "DeploymentConfig",
) -> Policy:
    """Check an UpdateEndpoint DeploymentConfig and the alarms it names; every problem is refused before a change."""
    if config.get("RollingUpdatePolicy"):
        raise UsageError(
            f"{source}.RollingUpdatePolicy: the local endpoint has no instances to update in batches; give a "
            "BlueGreenUpdatePolicy"
        )
    blue_green = config.get("BlueGreenUpdatePolicy")
    if not isinstance(blue_green, Mapping):
        raise UsageError(f"{source} has no BlueGreenUpdatePolicy")
    where = f"{source}.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"
    routing = blue_green.get("TrafficRoutingConfiguration")
    if not isinstance(routing, Mapping) or routing.get("Type") not in ROUTING_TYPES:
        raise UsageError(f"{where}.Type must be one of {', '.join(ROUTING_TYPES)}")
    kind = str(routing["Type"])
    wait = _bounded(routing.get("WaitIntervalInSeconds"), 0, 3600, f"{where}.WaitIntervalInSeconds")
    canary = (
        _capacity(routing.get("CanarySize"), f"{where}.CanarySize", instance_count, 0.0, 0.5)
        if kind == "CANARY"
        else None
    )
    step = (
        _capacity(routing.get("LinearStepSize"), f"{where}.LinearStepSize", instance_count, 0.1, 0.5)
        if kind == "LINEAR"
        else None
    )
    termination = _bounded(
        blue_green.get("TerminationWaitInSeconds"),
        0,
        3600,
        f"{source}.BlueGreenUpdatePolicy.TerminationWaitInSeconds",
        0,
    )
    timeout = _bounded(
        blue_green.get("MaximumExecutionTimeoutInSeconds"),
        600,
        28800,
        f"{source}.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds",
        DEFAULT_TIMEOUT_S,
    )
    names = [entry.get("AlarmName") for entry in (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    if len(names) > 10:
        raise UsageError(f"{source}.AutoRollbackConfiguration.Alarms: at most 10 alarms, got {len(names)}")
    defined = {str(request.get("AlarmName")): request for request in alarm_requests}
    missing = [name for name in names if name not in defined]
    if missing:
        raise UsageError(
            f"{source}.AutoRollbackConfiguration names alarm(s) {', '.join(map(repr, missing))} that no alarm "
            f"definition gives (there are {', '.join(defined) or 'none'})"
        )
    checked = tuple(Alarm.from_request(defined[str(name)], endpoint_name) for name in names)
    shares = shares_of(kind, canary, step)
    return Policy(kind, wait, shares, termination, timeout, checked, dict(config))


def policy_of_parameters(parameters: Mapping[str, str], endpoint_name: str, source: str) -> Policy | None:
    """The DeploymentConfig and alarms the endpoint template makes of these parameters; None without a
    DeploymentStrategy (an update is then the hot swap)."""
    kind = parameters.get("DeploymentStrategy")
    if not kind:
        return None
    if kind not in ROUTING_TYPES:
        raise UsageError(f"{source}: DeploymentStrategy must be one of {', '.join(ROUTING_TYPES)}, got {kind!r}")

    def number(name: str, default: str) -> int:
        text = parameters.get(name, default)
        if not text.isdigit():
            raise UsageError(f"{source}: {name} must be a whole number, got {text!r}")
        return int(text)

    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": number("BakingPeriodSeconds", "300")}
    if kind == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": number("CanarySizePercent", "10")}
    if kind == "LINEAR":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": number("LinearStepSizePercent", "20")}
    requests = alarms_module.template_alarms(parameters, endpoint_name, source)
    config = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": number("TerminationWaitSeconds", "0"),
            "MaximumExecutionTimeoutInSeconds": number("DeploymentTimeoutSeconds", str(DEFAULT_TIMEOUT_S)),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": request["AlarmName"]} for request in requests]},
    }
    instances = number("EndpointInstanceCount", "1")
    return policy_of(config, requests, endpoint_name=endpoint_name, instance_count=max(instances, 1), source=source)


# -- records --------------------------------------------------------------------------------------------------------


def deployment_id(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H-%M-%S-%fZ")


def list_deployments(paths: EndpointPaths) -> list[dict[str, Any]]:
    """The endpoint's deployment records, newest first (an unreadable one is left out)."""
    found = []
    for path in sorted(paths.deployments_dir.glob("*.json"), reverse=True) if paths.deployments_dir.is_dir() else []:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


def in_progress(record: Mapping[str, Any] | None) -> bool:
    """Whether a record's deployment is still being driven (its process lives)."""
    if record is None or record.get("Status") not in (UPDATING, ROLLING_BACK):
        return False
    return pid_alive(int(record.get("Pid", 0)), record.get("PidStarted"))


class _Record:
    """One deployment's record file, rewritten whole at each change."""

    def __init__(self, paths: EndpointPaths, document: dict[str, Any], report: Callable[[str], None]) -> None:
        self.path = paths.deployments_dir / f"{document['DeploymentId']}.json"
        self.document, self.report = document, report
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.path, self.document)

    def event(self, message: str, **changes: Any) -> None:
        self.document.update(changes)
        self.document.setdefault("Events", []).append({"Time": _now_iso(), "Message": message})
        self.save()
        self.report(message)


def _now_iso() -> str:
    return timestamp(timespec="milliseconds")


# -- waiting for the workers ----------------------------------------------------------------------------------------


def wait_for_generation(paths: EndpointPaths, server_pid: int, generation: int, since: float, timeout: float) -> int:
    """Wait until every live worker serves ``generation``; raise if one refuses it or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        live = set(child_pids(server_pid))
        files = {entry["pid"]: entry for entry in read_worker_files(paths.workers_dir) if entry["pid"] in live}
        for entry in files.values():
            refused = entry.get("swap_error")
            if refused and _mtime(paths.workers_dir / f"{entry['pid']}.json") >= since:
                raise ServingError(
                    f"worker {entry['pid']} refused the new models, the old ones keep serving: {refused}"
                )
        if live and all(files.get(pid, {}).get("generation") == generation for pid in live):
            return len(live)
        if time.monotonic() > deadline:
            raise ServingError(f"the workers of {paths.name!r} did not swap within {timeout:g} s; see its log")
        time.sleep(0.05)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


# -- the update -----------------------------------------------------------------------------------------------------


@dataclass
class Pace:
    """How often the deploying process looks, and how long it waits for workers (test seams)."""

    poll_s: float = 0.25
    swap_timeout_s: float = 120.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


class _Interrupted(Exception):
    """SIGTERM while deploying."""


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM raises in the deploying thread, so that it rolls back; the handler before is put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: object) -> None:
        raise _Interrupted

    before = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def update_endpoint(
    paths: EndpointPaths,
    settings: Settings,
    config: EndpointConfig,
    *,
    source: str,
    policy: Policy | None,
    monitoring: Callable[[float], MetricSource] | None = None,
    report: Callable[[str], None] = lambda message: None,
    pace: Pace | None = None,
) -> dict[str, Any]:
    """Deploy ``config`` to the running endpoint; return the deployment's record once it Succeeded.

    Raises DeploymentRolledBack when it rolled back (the old fleet serves), and ServingError or UsageError when it
    could not start (nothing changed). ``monitoring(since)`` gives the source of the monitoring metrics."""
    pace = pace or Pace()
    running = read_server_info(paths)
    if running is None:
        raise EndpointNotRunning(paths.name)
    paths.root.mkdir(parents=True, exist_ok=True)
    lock = ProcessLock.take(paths.lock_file)
    if isinstance(lock, int):
        raise ServingError(
            f"endpoint {paths.name!r} is being deployed by process {lock or 'unknown'}; wait for it to end "
            "(showcase endpoint status shows its progress)"
        )
    with lock:
        current = read_deployment(paths)
        if current is None:
            raise ServingError(f"endpoint {paths.name!r} has no deployment.json; serve it first")
        current = _clear_abandoned(paths, current, running.pid, pace)
        capture = capture_config_of(config, source)
        fleet = prepare_fleet(
            config.parameters, settings, paths.models_dir, fleet_id=current.generation + 1, source=source
        )
        started = pace.clock()
        record = _Record(
            paths,
            {
                "DeploymentId": deployment_id(clock.now()),
                "EndpointName": paths.name,
                "Status": UPDATING,
                "Outcome": None,
                "Reason": None,
                "StartTime": _now_iso(),
                "EndTime": None,
                "Pid": os.getpid(),
                "PidStarted": _started(os.getpid()),
                "DeploymentConfig": dict(policy.config) if policy else None,
                "Routing": policy.routing if policy else "ALL_AT_ONCE",
                "Shares": list(policy.shares) if policy else [1.0],
                "Step": 0,
                "NewFleetShare": 0.0,
                "From": current.fleet.packages(),
                "To": fleet.packages(),
                "FleetId": fleet.fleet_id,
                "Alarms": [],
                "Events": [],
            },
            report,
        )
        update = _Update(paths, running.pid, current, fleet, config, capture, record, pace)
        if policy is None:
            return update.hot_swap()
        endpoint_metrics = EndpointMetrics(paths, fleet.fleet_id, pace.clock)
        sources: dict[str, MetricSource] = {alarms_module.SAGEMAKER: endpoint_metrics}
        if monitoring is not None:
            published = monitoring(started)
            sources.update({alarms_module.MODEL_METRICS: published, alarms_module.DATA_METRICS: published})
        with _term_as_interrupt():
            return update.shift(policy, endpoint_metrics, sources, started)


def _started(pid: int) -> int | None:
    from showcase.processes import process_started

    return process_started(pid)


def _clear_abandoned(paths: EndpointPaths, current: Deployment, server_pid: int, pace: Pace) -> Deployment:
    """A new fleet left in ``deployment.json`` by a deploying process that ended is taken out first."""
    if current.new_fleet is None:
        return current
    cleared = replace(current, generation=current.generation + 1, new_fleet=None, new_share=0.0)
    since = time.time()
    write_deployment(paths, cleared)
    wait_for_generation(paths, server_pid, cleared.generation, since, pace.swap_timeout_s)
    for record in list_deployments(paths):
        if record.get("Status") in (UPDATING, ROLLING_BACK) and not in_progress(record):
            record.update(
                Status=IN_SERVICE,
                Outcome=ROLLED_BACK,
                EndTime=_now_iso(),
                Reason=f"the process deploying it (pid {record.get('Pid')}) ended before the deployment did; its new "
                "fleet was taken out when the next deployment began",
            )
            write_json_atomically(paths.deployments_dir / f"{record['DeploymentId']}.json", record)
    return cleared


class _Update:
    def __init__(
        self,
        paths: EndpointPaths,
        server_pid: int,
        current: Deployment,
        fleet: Fleet,
        config: EndpointConfig,
        capture: Any,
        record: _Record,
        pace: Pace,
    ) -> None:
        self.paths, self.server_pid, self.current, self.fleet = paths, server_pid, current, fleet
        self.config, self.capture, self.record, self.pace = config, capture, record, pace
        self.generation = current.generation

    def _write(self, deployment: Deployment) -> int:
        """Write the next generation and wait until every worker serves it; the number of workers."""
        since = time.time()
        write_deployment(self.paths, deployment)
        return wait_for_generation(self.paths, self.server_pid, deployment.generation, since, self.pace.swap_timeout_s)

    def _next(self, **changes: Any) -> Deployment:
        self.generation += 1
        return replace(self.current, generation=self.generation, **changes)

    def _final(self) -> Deployment:
        self.generation += 1
        return Deployment(
            endpoint_name=self.current.endpoint_name,
            fleet=self.fleet,
            generation=self.generation,
            capture=self.capture,
            deployed_at=timestamp(timespec="seconds"),
            previous=self.current.fleet,
            parameters=dict(self.config.parameters),
        )

    def _succeeded(self, workers: int) -> dict[str, Any]:
        self.record.event(
            f"the new fleet serves all traffic on {workers} worker(s)",
            Status=IN_SERVICE,
            Outcome=SUCCEEDED,
            EndTime=_now_iso(),
            NewFleetShare=1.0,
        )
        return self.record.document

    def hot_swap(self) -> dict[str, Any]:
        try:
            workers = self._write(self._final())
        except ServingError as exc:
            self.record.event(str(exc), Status=IN_SERVICE, Outcome=FAILED, Reason=str(exc), EndTime=_now_iso())
            raise
        return self._succeeded(workers)

    def shift(
        self, policy: Policy, metrics: EndpointMetrics, sources: Mapping[str, MetricSource], started: float
    ) -> dict[str, Any]:
        try:
            workers = self._write(self._next(new_fleet=self.fleet, new_share=0.0, capture=self.capture))
            self.record.event(f"the new fleet is loaded on {workers} worker(s) and takes no traffic yet")
            for step, share in enumerate(policy.shares, start=1):
                self._write(self._next(new_fleet=self.fleet, new_share=share, capture=self.capture))
                self.record.event(
                    f"step {step} of {len(policy.shares)}: {share:.0%} of the traffic on the new fleet; baking "
                    f"{policy.wait_s} s",
                    Step=step,
                    NewFleetShare=share,
                )
                self._bake(policy, policy.wait_s, metrics, sources, started)
            if policy.termination_wait_s:
                self.record.event(f"all traffic moved; the old fleet is kept {policy.termination_wait_s} s")
                self._bake(policy, policy.termination_wait_s, metrics, sources, started)
            return self._succeeded(self._write(self._final()))
        except _Tripped as tripped:
            self._roll_back(tripped.reason, tripped.states)
        except ServingError as exc:
            self._roll_back(str(exc), [])
        except (KeyboardInterrupt, _Interrupted):
            self._roll_back("the deployment was interrupted", [])
            raise KeyboardInterrupt from None
        except Exception as exc:  # the outermost layer of a deployment: never leave the new fleet taking traffic
            self._roll_back(f"the deployment failed: {type(exc).__name__}: {exc}", [])
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _bake(
        self,
        policy: Policy,
        seconds: float,
        metrics: EndpointMetrics,
        sources: Mapping[str, MetricSource],
        started: float,
    ) -> None:
        deadline = self.pace.clock() + seconds
        while True:
            now = self.pace.clock()
            metrics.read()
            states = [alarms_module.evaluate(alarm, sources, now) for alarm in policy.alarms]
            if [s.to_json() for s in states] != self.record.document["Alarms"]:
                self.record.document["Alarms"] = [s.to_json() for s in states]
                self.record.save()
            tripped = [state for state in states if state.value == ALARM]
            if tripped:
                raise _Tripped(f"alarm {tripped[0].name} is in ALARM: {tripped[0].reason}", states)
            if now - started > policy.max_execution_s:
                raise _Tripped(
                    f"the deployment ran longer than MaximumExecutionTimeoutInSeconds ({policy.max_execution_s} s)",
                    states,
                )
            if now >= deadline:
                return
            self.pace.sleep(min(self.pace.poll_s, max(deadline - now, 0.0)))

    def _roll_back(self, reason: str, states: list[AlarmState]) -> None:
        self.record.event(f"rolling back: {reason}", Status=ROLLING_BACK, Reason=reason)
        try:
            workers = self._write(self._next(new_fleet=None, new_share=0.0))
        except ServingError as exc:
            self.record.event(
                f"the rollback did not complete: {exc}", Status=IN_SERVICE, Outcome=FAILED, EndTime=_now_iso()
            )
            raise DeploymentRolledBack(self.paths.name, f"{reason}; and the rollback failed: {exc}") from None
        self.record.event(
            f"rolled back: the fleet before serves all traffic on {workers} worker(s)",
            Status=IN_SERVICE,
            Outcome=ROLLED_BACK,
            EndTime=_now_iso(),
            NewFleetShare=0.0,
        )
        raise DeploymentRolledBack(self.paths.name, reason)


class _Tripped(Exception):
    def __init__(self, reason: str, states: list[AlarmState]) -> None:
        super().__init__(reason)
        self.reason, self.states = reason, states


# -- DescribeEndpoint -----------------------------------------------------------------------------------------------


def describe(paths: EndpointPaths) -> dict[str, Any]:
    """DescribeEndpoint's deployment fields: LastDeploymentConfig, and PendingDeploymentSummary while updating,
    with the status a deployment in progress gives the endpoint (absent when none is)."""
    records = list_deployments(paths)
    answer: dict[str, Any] = {}
    last = next((record for record in records if record.get("DeploymentConfig")), None)
    if last is not None:
        answer["LastDeploymentConfig"] = last["DeploymentConfig"]
    latest = records[0] if records else None
    if latest is not None and in_progress(latest):
        answer["EndpointStatus"] = latest["Status"]
        share = float(latest.get("NewFleetShare", 0.0))
        answer["PendingDeploymentSummary"] = {
            "EndpointConfigName": paths.name,
            "StartTime": datetime.fromisoformat(latest["StartTime"]),
            "ProductionVariants": [
                {"VariantName": name, "CurrentWeight": share, "DesiredWeight": 1.0}
                for name in latest.get("To", {})
                if name != "Shadow"
            ],
        }
    return answer
