"""What a Tuning step searches, checked before it runs: its strategy, its training job definitions and their
hyperparameter ranges (``Range``), as SageMaker's CreateHyperParameterTuningJob checks them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from showcase.local.steps.common import is_expression
from showcase.local.steps.training import TrainingExecutor

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
TRAINING = TrainingExecutor()
"""What runs (and checks) each trial: the Training step type's executor."""


@dataclass(frozen=True)
class Range:
    name: str
    kind: str
    """``Integer``, ``Continuous`` or ``Categorical``."""
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()


def literal(value: Any) -> Any:
    return None if is_expression(value) else value


def problems(arguments: dict[str, Any]) -> list[str]:
    config = arguments.get("HyperParameterTuningJobConfig")
    if not isinstance(config, dict):
        return ["a Tuning step needs HyperParameterTuningJobConfig"]
    found: list[str] = []
    strategy = literal(config.get("Strategy", "Bayesian"))
    if strategy is not None and strategy not in STRATEGIES:
        found.append(f"Strategy {strategy} is not one of {', '.join(STRATEGIES)}")
    for key, why in (("WarmStartConfig", "warm starts from earlier tuning jobs"), ("Autotune", "Autotune")):
        if arguments.get(key):
            found.append(f"{key} is not supported locally ({why})")
    criteria = config.get("TuningJobCompletionCriteria") or {}
    if set(criteria) - {"TargetObjectiveMetricValue"}:
        found.append("TuningJobCompletionCriteria supports only TargetObjectiveMetricValue locally")
    stopping = literal(config.get("TrainingJobEarlyStoppingType", "Off"))
    if stopping not in (None, "Off", "Auto"):
        found.append(f"TrainingJobEarlyStoppingType {stopping} is not one of Off, Auto")
    if strategy == "Hyperband" and stopping == "Auto":
        found.append("Hyperband stops trials itself: set TrainingJobEarlyStoppingType Off")
    single, many = arguments.get("TrainingJobDefinition"), arguments.get("TrainingJobDefinitions")
    if (single is None) == (many is None):
        return [*found, "a Tuning step needs exactly one of TrainingJobDefinition and TrainingJobDefinitions"]
    raw_definitions = [single] if single is not None else many
    if (
        not isinstance(raw_definitions, list)
        or not raw_definitions
        or not all(isinstance(d, dict) for d in raw_definitions)
    ):
        return [*found, "TrainingJobDefinitions must be a non-empty list of definitions"]
    if strategy == "Grid" and len(raw_definitions) > 1:
        found.append("Grid search runs one TrainingJobDefinition locally")
    for index, raw in enumerate(raw_definitions):
        where = "TrainingJobDefinition" if single is not None else f"TrainingJobDefinitions[{index}]"
        found.extend(f"{where}: {problem}" for problem in definition_problems(raw, config, strategy))
    limits = config.get("ResourceLimits") or {}
    if strategy == "Grid" and single is not None and not found:
        size = grid_size(single.get("HyperParameterRanges") or config.get("ParameterRanges") or {})
        given = literal(limits.get("MaxNumberOfTrainingJobs"))
        if given is not None and given != size:
            found.append(f"Grid search runs every combination ({size}); MaxNumberOfTrainingJobs is {given}")
    elif strategy != "Grid" and "MaxNumberOfTrainingJobs" not in limits:
        found.append("ResourceLimits.MaxNumberOfTrainingJobs is required (except for Grid search)")
    return found


def definition_problems(raw: dict[str, Any], config: dict[str, Any], strategy: Any) -> list[str]:
    found: list[str] = []
    objective = raw.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
    if not isinstance(objective, dict) or "MetricName" not in objective:
        found.append("no objective: HyperParameterTuningJobObjective (or the definition's TuningObjective)")
    ranges = raw.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
    try:
        parsed = parse_ranges(ranges)
    except ValueError as exc:
        found.append(str(exc))
        parsed = []
    if not parsed and not found:
        found.append("ParameterRanges holds no range to tune")
    if strategy == "Grid" and any(r.kind != "Categorical" for r in parsed):
        found.append("Grid search tunes categorical ranges only")
    training = training_arguments(raw, {})
    found.extend(TRAINING.problems(training))
    spec = raw.get("AlgorithmSpecification") or {}
    metric = objective.get("MetricName") if isinstance(objective, dict) else None
    definitions = spec.get("MetricDefinitions") or []
    if isinstance(metric, str) and definitions and not any(d.get("Name") == metric for d in definitions):
        found.append(f"the objective {metric} has no MetricDefinitions entry (a regex to read it from the log)")
    elif isinstance(metric, str) and not definitions:
        channels = {c.get("ChannelName") for c in raw.get("InputDataConfig") or [] if isinstance(c, dict)}
        channel, _, name = metric.partition(":")
        if not name or channel not in channels:
            found.append(
                f"the objective {metric} is not a metric the built-in algorithm emits: use <channel>:<metric> "
                f"of a channel it trains with ({', '.join(sorted(str(c) for c in channels))}), "
                "or give MetricDefinitions"
            )
    for item in definitions:
        try:
            re.compile(str(item.get("Regex")))
        except re.error as exc:
            found.append(f"MetricDefinitions {item.get('Name')}: Regex {item.get('Regex')!r} is not a regex ({exc})")
    return found


def parse_ranges(raw: Any) -> list[Range]:
    if not isinstance(raw, dict):
        raise ValueError("ParameterRanges must be an object")
    ranges: list[Range] = []
    for kind in ("Integer", "Continuous"):
        for item in raw.get(f"{kind}ParameterRanges") or []:
            name, scaling = item.get("Name"), item.get("ScalingType", "Auto")
            if any(is_expression(item.get(key)) for key in ("MinValue", "MaxValue", "ScalingType")):
                ranges.append(Range(str(name), kind))  # a pipeline parameter: checked when the step runs
                continue
            try:
                low, high = float(item["MinValue"]), float(item["MaxValue"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{kind} range {name}: MinValue and MaxValue must be numbers") from None
            if scaling not in SCALINGS or (kind == "Integer" and scaling == "ReverseLogarithmic"):
                allowed = SCALINGS if kind == "Continuous" else SCALINGS[:3]
                raise ValueError(f"{kind} range {name}: ScalingType {scaling} is not one of {', '.join(allowed)}")
            if not low <= high:
                raise ValueError(f"{kind} range {name}: MinValue {low:g} is above MaxValue {high:g}")
            if scaling == "Logarithmic" and low <= 0:
                raise ValueError(f"{kind} range {name}: Logarithmic scaling needs MinValue > 0")
            if scaling == "ReverseLogarithmic" and not 0 <= low < high < 1:
                raise ValueError(f"{kind} range {name}: ReverseLogarithmic needs 0 <= MinValue < MaxValue < 1")
            ranges.append(Range(str(name), kind, low, high, "Linear" if scaling == "Auto" else scaling))
    for item in raw.get("CategoricalParameterRanges") or []:
        if is_expression(item.get("Values")):
            ranges.append(Range(str(item.get("Name")), "Categorical", values=("?",)))
            continue
        values = tuple(str(value) for value in item.get("Values") or [])
        if not values:
            raise ValueError(f"Categorical range {item.get('Name')}: Values is empty")
        ranges.append(Range(str(item.get("Name")), "Categorical", values=values))
    names = [r.name for r in ranges]
    if len(set(names)) != len(names):
        raise ValueError("a hyperparameter appears in more than one range")
    return ranges


def grid_size(raw: Any) -> int:
    return math.prod(len(r.values) for r in parse_ranges(raw))


def training_arguments(raw: dict[str, Any], tuned: dict[str, str]) -> dict[str, Any]:
    """A Training step's arguments for one trial of this definition."""
    keys = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
            "StoppingCondition", "Environment", "EnableNetworkIsolation", "CheckpointConfig", "VpcConfig")  # fmt: skip
    arguments = {key: raw[key] for key in keys if key in raw}
    spec = dict(arguments.get("AlgorithmSpecification") or {})
    spec.pop("MetricDefinitions", None)
    arguments["AlgorithmSpecification"] = spec
    arguments["HyperParameters"] = {**(raw.get("StaticHyperParameters") or {}), **tuned}
    return arguments


@dataclass(frozen=True)
class TrainingDefinition:
    name: str | None
    training: dict[str, Any]
    """A Training step's arguments, less the tuned hyperparameters."""
    ranges: tuple[Range, ...]
    metric: str
    direction: Literal["minimize", "maximize"]
    metric_regex: str | None


def suggest(trial: Any, r: Range, prefix: str) -> str:
    """A value of ``r`` asked of an Optuna trial, as the hyperparameter's string."""
    name = prefix + r.name
    if r.kind == "Categorical":
        return str(trial.suggest_categorical(name, list(r.values)))
    if r.kind == "Integer":
        return str(trial.suggest_int(name, int(r.low), int(r.high), log=r.scaling == "Logarithmic"))
    if r.scaling == "ReverseLogarithmic":
        return repr(1.0 - trial.suggest_float(name, 1.0 - r.high, 1.0 - r.low, log=True))
    return repr(trial.suggest_float(name, r.low, r.high, log=r.scaling == "Logarithmic"))
