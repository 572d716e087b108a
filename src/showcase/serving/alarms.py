"""CloudWatch metric alarms, evaluated locally over an endpoint's own metrics and its monitoring runs.

An alarm is PutMetricAlarm's request, as the endpoint template's ``AWS::CloudWatch::Alarm`` resources create it
(``template_alarms`` makes the same ones from a config's parameters). The metrics it can watch:

    AWS/SageMaker, dimensions EndpointName and VariantName (``EndpointMetrics``, from the workers' files):
        Invocations                      Sum, SampleCount
        Invocation4XXErrors,             1 per 4xx (5xx) answer of the variant's model, else 0: Average is the
        Invocation5XXErrors              rate, Sum the count, Maximum/Minimum 1 or 0
        ModelLatency                     microseconds: Average, Maximum, Minimum, Sum, SampleCount, pNN (p99)
    aws/sagemaker/Endpoints/model-metrics, dimension Endpoint: mse, rmse, mae, r2 of each model-quality run
    aws/sagemaker/Endpoints/data-metrics, dimension Endpoint: feature_baseline_drift_<feature> of each
        data-quality run (``showcase.monitoring.published.MonitoringMetrics``, from the runs' ``cloudwatch_metrics``)

and metric math of the form ``MAX(METRICS())`` (or MIN, SUM, AVG) over ``MetricStat`` entries. An alarm on any
other metric, or on another endpoint, is refused before a deployment starts, naming the alarm and the field.

Evaluation follows CloudWatch's rule: of the last ``EvaluationPeriods`` periods of ``Period`` seconds, the alarm is
in ALARM when at least ``DatapointsToAlarm`` (default: all of them) have a datapoint beyond ``Threshold``; a period
with no data is missing, which ``TreatMissingData`` makes not breaching (``missing``, ``notBreaching``, ``ignore``)
or breaching. Two local differences: the periods end at the moment of evaluation instead of on the minute, so an
alarm answers within one reading of the workers' files (about a second) where CloudWatch publishes a minute's
datapoint after the minute; and the endpoint metrics are those of the fleet being deployed, the traffic the alarm
is there to judge (on SageMaker both fleets share the variant's name). Monitoring runs count from the deployment's
start: one that ended earlier judged the model before.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from showcase.errors import UsageError
from showcase.serving.deployment import EndpointPaths
from showcase.serving.metrics import bucket_bound, read_worker_files

SAGEMAKER = "AWS/SageMaker"
MODEL_METRICS = "aws/sagemaker/Endpoints/model-metrics"
DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
ENDPOINT_METRICS = ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency")
MODEL_QUALITY_METRICS = ("mse", "rmse", "mae", "r2")
STATISTICS = ("Average", "Sum", "Maximum", "Minimum", "SampleCount")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
_MATH = re.compile(r"^\s*(MAX|MIN|SUM|AVG)\s*\(\s*METRICS\(\s*\)\s*\)\s*$")
_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}
OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class Metric:
    """One metric and statistic an alarm reads."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    statistic: str

    def label(self) -> str:
        variant = self.dimensions.get("VariantName")
        return f"{self.name} {self.statistic}" + (f" of {variant}" if variant else "")


@dataclass(frozen=True)
class Alarm:
    """A metric alarm (PutMetricAlarm's request), checked."""

    name: str
    metrics: tuple[Metric, ...]
    expression: str | None
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str
    request: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def from_request(cls, request: Mapping[str, Any], endpoint_name: str) -> Alarm:
        name = str(request.get("AlarmName") or "")
        where = f"alarm {name!r}"
        if not name:
            raise UsageError("an alarm has no AlarmName")
        comparison = request.get("ComparisonOperator")
        if comparison not in _OPERATORS:
            raise UsageError(f"{where}: ComparisonOperator {comparison!r} is not one of {', '.join(_OPERATORS)}")
        if "Threshold" not in request:
            raise UsageError(f"{where}: no Threshold (threshold metric math, ThresholdMetricId, is not evaluated here)")
        expression = None
        if request.get("Metrics"):
            metrics, expression, period = _math(request["Metrics"], where, endpoint_name)
        else:
            metrics = (
                _metric(request, request.get("Statistic") or request.get("ExtendedStatistic"), where, endpoint_name),
            )
            period = _positive(request.get("Period"), f"{where}: Period")
        evaluation_periods = _positive(request.get("EvaluationPeriods"), f"{where}: EvaluationPeriods")
        datapoints = _positive(request.get("DatapointsToAlarm", evaluation_periods), f"{where}: DatapointsToAlarm")
        if datapoints > evaluation_periods:
            raise UsageError(
                f"{where}: DatapointsToAlarm {datapoints} is more than EvaluationPeriods {evaluation_periods}"
            )
        treat = request.get("TreatMissingData", "missing")
        if treat not in ("missing", "notBreaching", "breaching", "ignore"):
            raise UsageError(f"{where}: TreatMissingData {treat!r} is not missing, notBreaching, breaching or ignore")
        return cls(
            name,
            metrics,
            expression,
            period,
            evaluation_periods,
            datapoints,
            float(request["Threshold"]),
            str(comparison),
            str(treat),
            dict(request),
        )

    def breaches(self, value: float) -> bool:
        return _OPERATORS[self.comparison][0](value, self.threshold)


def _positive(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise UsageError(f"{what} must be a whole number of at least 1, got {value!r}")
    return number


def _metric(request: Mapping[str, Any], statistic: Any, where: str, endpoint_name: str) -> Metric:
    namespace, name = request.get("Namespace"), request.get("MetricName")
    dimensions = {d["Name"]: str(d["Value"]) for d in request.get("Dimensions") or []}
    if not isinstance(statistic, str) or not (statistic in STATISTICS or _PERCENTILE.match(statistic)):
        raise UsageError(f"{where}: statistic {statistic!r} is not one of {', '.join(STATISTICS)} or a percentile pNN")
    if namespace == SAGEMAKER and name in ENDPOINT_METRICS:
        if dimensions.get("EndpointName") != endpoint_name or "VariantName" not in dimensions:
            raise UsageError(
                f"{where} watches {name} of {dimensions or 'no dimensions'}; locally an alarm can watch the endpoint "
                f"being deployed, {endpoint_name!r}: give dimensions EndpointName={endpoint_name} and VariantName"
            )
    elif namespace in (MODEL_METRICS, DATA_METRICS) and (
        name in MODEL_QUALITY_METRICS if namespace == MODEL_METRICS else str(name).startswith("feature_baseline_drift_")
    ):
        if dimensions.get("Endpoint") != endpoint_name:
            raise UsageError(f"{where} watches {name} of {dimensions}; give dimension Endpoint={endpoint_name}")
    else:
        raise UsageError(
            f"{where} watches {namespace} {name}, which the local endpoint does not measure: it measures "
            f"{SAGEMAKER} {', '.join(ENDPOINT_METRICS)}, {MODEL_METRICS} {', '.join(MODEL_QUALITY_METRICS)} and "
            f"{DATA_METRICS} feature_baseline_drift_<feature>"
        )
    return Metric(str(namespace), str(name), dimensions, statistic)


def _math(entries: Sequence[Mapping[str, Any]], where: str, endpoint_name: str) -> tuple[tuple[Metric, ...], str, int]:
    expressions = [entry for entry in entries if entry.get("Expression")]
    stats = [entry for entry in entries if entry.get("MetricStat")]
    if len(expressions) != 1 or not _MATH.match(expressions[0]["Expression"]) or not stats:
        shown = [entry.get("Expression") for entry in expressions]
        raise UsageError(
            f"{where}: Metrics must be MetricStat entries and one expression MAX|MIN|SUM|AVG(METRICS()), got {shown}"
        )
    metrics = []
    periods = set()
    for entry in stats:
        stat = entry["MetricStat"]
        metrics.append(_metric(stat["Metric"], stat.get("Stat"), where, endpoint_name))
        periods.add(_positive(stat.get("Period"), f"{where}: {entry.get('Id')} Period"))
    if len(periods) != 1:
        raise UsageError(f"{where}: the MetricStat entries have different periods {sorted(periods)}")
    return tuple(metrics), str(expressions[0]["Expression"]), periods.pop()


# -- the metrics ------------------------------------------------------------------------------------------------


@dataclass
class Counters:
    """A variant's invocations over some time: counts and the latency histogram (microseconds)."""

    requests: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency_us_sum: float = 0.0
    latency_us: dict[int, int] = field(default_factory=dict)

    def add(self, raw: Mapping[str, Any]) -> None:
        self.requests += int(raw.get("requests", 0))
        self.errors_4xx += int(raw.get("errors_4xx", 0))
        self.errors_5xx += int(raw.get("errors_5xx", 0))
        self.latency_us_sum += float(raw.get("latency_us_sum", 0.0))
        for bucket, count in (raw.get("latency_us") or {}).items():
            self.latency_us[int(bucket)] = self.latency_us.get(int(bucket), 0) + int(count)

    def minus(self, earlier: Counters) -> Counters:
        return Counters(
            self.requests - earlier.requests,
            self.errors_4xx - earlier.errors_4xx,
            self.errors_5xx - earlier.errors_5xx,
            self.latency_us_sum - earlier.latency_us_sum,
            {
                b: c - earlier.latency_us.get(b, 0)
                for b, c in self.latency_us.items()
                if c - earlier.latency_us.get(b, 0)
            },
        )

    def percentile(self, share: float) -> float:
        """The upper bound of the bucket holding the ``share`` quantile (at most 9 % above the true value)."""
        rank, running = share * self.requests, 0
        for bucket in sorted(self.latency_us):
            running += self.latency_us[bucket]
            if running >= rank:
                return bucket_bound(bucket)
        return bucket_bound(max(self.latency_us))

    def statistic(self, metric: str, statistic: str) -> float | None:
        """The statistic of a metric over these counts; None when there were no invocations (missing data)."""
        if self.requests == 0:
            return 0.0 if (metric, statistic) in (("Invocations", "Sum"), ("Invocations", "SampleCount")) else None
        if metric == "Invocations":
            return float(self.requests) if statistic in ("Sum", "SampleCount") else 1.0
        if statistic == "SampleCount":
            return float(self.requests)
        if metric in ("Invocation4XXErrors", "Invocation5XXErrors"):
            errors = self.errors_4xx if metric == "Invocation4XXErrors" else self.errors_5xx
            return {
                "Average": errors / self.requests,
                "Sum": float(errors),
                "Maximum": float(errors > 0),
                "Minimum": float(errors == self.requests),
            }.get(statistic, errors / self.requests)
        if statistic == "Average":
            return self.latency_us_sum / self.requests
        if statistic == "Sum":
            return self.latency_us_sum
        if statistic == "Maximum":
            return bucket_bound(max(self.latency_us))
        if statistic == "Minimum":
            return bucket_bound(min(self.latency_us))
        match = _PERCENTILE.match(statistic)
        return self.percentile(float(match.group(1)) / 100.0) if match else None

    def describe(self, metric: str) -> str:
        if self.requests == 0:
            return "no invocations"
        if metric == "ModelLatency":
            return f"{self.requests} invocations, p99 at most {self.percentile(0.99) / 1000:.3g} ms"
        errors = self.errors_4xx if metric == "Invocation4XXErrors" else self.errors_5xx
        kind = "4xx" if metric == "Invocation4XXErrors" else "5xx"
        return f"{errors} of {self.requests} invocations answered {kind}"


class MetricSource(Protocol):
    def datapoint(self, metric: Metric, start: float, end: float) -> tuple[float | None, str]:
        """The statistic over [start, end) (wall-clock seconds), or None, and what it was computed from."""
        ...


class EndpointMetrics:
    """The ``AWS/SageMaker`` metrics of one fleet of an endpoint, from readings of its workers' files."""

    def __init__(self, paths: EndpointPaths, fleet_id: int, clock: Callable[[], float] = time.time) -> None:
        self.paths, self.fleet_id, self.clock = paths, fleet_id, clock
        self.readings: list[tuple[float, dict[str, Counters]]] = []

    def read(self) -> None:
        """Sum every worker file's counters of the fleet (a dead worker's too: counters only grow)."""
        summed: dict[str, Counters] = {}
        prefix = f"{self.fleet_id}/"
        for worker in read_worker_files(self.paths.workers_dir):
            for key, raw in (worker.get("variants") or {}).items():
                if key.startswith(prefix):
                    summed.setdefault(key[len(prefix) :], Counters()).add(raw)
        self.readings.append((self.clock(), summed))

    def _at(self, moment: float, variant: str) -> Counters:
        """The counters of the last reading at or before ``moment`` (zero before the first: the fleet is new)."""
        found = Counters()
        for when, counters in self.readings:
            if when > moment:
                break
            found = counters.get(variant, Counters())
        return found

    def window(self, variant: str, start: float, end: float) -> Counters:
        return self._at(end, variant).minus(self._at(start, variant))

    def datapoint(self, metric: Metric, start: float, end: float) -> tuple[float | None, str]:
        counters = self.window(metric.dimensions["VariantName"], start, end)
        return counters.statistic(metric.name, metric.statistic), counters.describe(metric.name)


def aggregate(values: Sequence[float], statistic: str) -> float:
    """Maximum, Minimum, Sum, else the Average of some values (at least one)."""
    if statistic == "Maximum":
        return float(max(values))
    if statistic == "Minimum":
        return float(min(values))
    if statistic == "Sum":
        return float(sum(values))
    return float(sum(values)) / len(values)


# -- evaluation -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmState:
    name: str
    value: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"AlarmName": self.name, "StateValue": self.value, "StateReason": self.reason}


def evaluate(alarm: Alarm, sources: Mapping[str, MetricSource], now: float) -> AlarmState:
    """The alarm's state at ``now`` (wall-clock seconds)."""
    datapoints: list[tuple[float | None, str]] = []
    for index in range(alarm.evaluation_periods):
        end = now - index * alarm.period_s
        start = end - alarm.period_s
        found = [sources[metric.namespace].datapoint(metric, start, end) for metric in alarm.metrics]
        values = [value for value, _ in found if value is not None]
        if not values:
            datapoints.append((None, found[0][1]))
            continue
        how = {"MAX": "Maximum", "MIN": "Minimum", "SUM": "Sum"}.get((alarm.expression or "MAX").strip()[:3], "Average")
        datapoints.append((aggregate(values, how), "; ".join(text for _, text in found)))
    present = [value for value, _ in datapoints if value is not None]
    missing = len(datapoints) - len(present)
    breaching = sum(alarm.breaches(value) for value in present)
    if alarm.treat_missing == "breaching":
        breaching += missing
    words = _OPERATORS[alarm.comparison][1]
    shown = ", ".join("missing" if value is None else f"{value:.6g}" for value, _ in datapoints)
    if breaching >= alarm.datapoints_to_alarm:
        detail = next(text for value, text in datapoints if value is None or alarm.breaches(value))
        return AlarmState(
            alarm.name,
            ALARM,
            f"Threshold Crossed: {breaching} out of the last {len(datapoints)} datapoints [{shown}] "
            f"{'was' if breaching == 1 else 'were'} {words} the threshold ({alarm.threshold:g}) "
            f"({alarm.metrics[0].label() if len(alarm.metrics) == 1 else alarm.expression} over "
            f"{alarm.period_s} s: {detail})",
        )
    if not present and alarm.treat_missing == "missing":
        return AlarmState(alarm.name, INSUFFICIENT_DATA, f"no datapoints in the last {len(datapoints)} period(s)")
    return AlarmState(
        alarm.name,
        OK,
        f"{len(datapoints) - breaching} of the last {len(datapoints)} datapoints [{shown}] not {words} "
        f"the threshold ({alarm.threshold:g})",
    )


# -- the template's alarms ------------------------------------------------------------------------------------------

_MEASUREMENTS = 7
"""The data-quality drift alarm of the template watches the seven measurement columns, _c0 to _c6."""


def _number(parameters: Mapping[str, str], name: str, default: str, source: str) -> float:
    text = parameters.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{source}: {name} must be a number of at least 0, got {text!r}")
    return value


def template_alarms(parameters: Mapping[str, str], endpoint_name: str, source: str) -> list[dict[str, Any]]:
    """The alarms ``deploy/endpoint-cloudformation.yml`` creates for these parameters, as PutMetricAlarm requests:
    5xx rate and p99 ModelLatency of AllTraffic, and with EnableMonitoring / EnableModelQuality the data-quality
    drift and the model-quality mse."""
    variant = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    alarms: list[dict[str, Any]] = [
        {
            "AlarmName": f"{endpoint_name}-invocation-5xx-errors",
            "Namespace": SAGEMAKER,
            "MetricName": "Invocation5XXErrors",
            "Dimensions": variant,
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": _number(parameters, "Invocation5XXErrorRateThreshold", "0.01", source),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            "AlarmName": f"{endpoint_name}-model-latency-p99",
            "Namespace": SAGEMAKER,
            "MetricName": "ModelLatency",
            "Dimensions": variant,
            "ExtendedStatistic": "p99",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": _number(parameters, "ModelLatencyP99ThresholdMicroseconds", "100000", source),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    ]
    capture = parameters.get("EnableDataCapture", "true") == "true"
    if parameters.get("EnableMonitoring", "false") == "true" and capture:
        schedule = [
            {"Name": "Endpoint", "Value": endpoint_name},
            {"Name": "MonitoringSchedule", "Value": f"{endpoint_name}-data-quality"},
        ]
        stats = [
            {
                "Id": f"c{column}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": DATA_METRICS,
                        "MetricName": f"feature_baseline_drift__c{column}",
                        "Dimensions": schedule,
                    },
                    "Period": 3600,
                    "Stat": "Maximum",
                },
                "ReturnData": False,
            }
            for column in range(_MEASUREMENTS)
        ]
        alarms.append(
            {
                "AlarmName": f"{endpoint_name}-data-quality-drift",
                "Metrics": [{"Id": "largest", "Expression": "MAX(METRICS())", "ReturnData": True}, *stats],
                "EvaluationPeriods": 1,
                "Threshold": _number(parameters, "DriftThreshold", "0.1", source),
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
        )
    if parameters.get("EnableModelQuality", "false") == "true" and capture:
        alarms.append(
            {
                "AlarmName": f"{endpoint_name}-model-quality-mse",
                "Namespace": MODEL_METRICS,
                "MetricName": "mse",
                "Dimensions": [
                    {"Name": "Endpoint", "Value": endpoint_name},
                    {"Name": "MonitoringSchedule", "Value": f"{endpoint_name}-model-quality"},
                ],
                "Statistic": "Maximum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": _number(parameters, "ModelQualityMseThreshold", "9", source),
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
        )
    return alarms
