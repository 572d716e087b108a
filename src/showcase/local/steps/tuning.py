"""The Tuning executor: a hyperparameter tuning job whose trials are training jobs run by the Training executor.

Search is Optuna's: ``Bayesian`` is its TPE sampler, ``Random`` its random sampler, ``Grid`` every combination
of the categorical ranges queued once (as SageMaker's grid search), ``Hyperband`` its random
sampler with its Hyperband pruner (``StrategyConfig.HyperbandStrategyConfig`` MinResource/MaxResource, in
boosting rounds). ``TrainingJobEarlyStoppingType Auto`` is SageMaker's median rule through Optuna's median
pruner: a trial whose running average of the objective up to a round is worse than the median of the completed trials'
running averages at that round is stopped (once ``MEDIAN_RULE_AFTER`` trials have completed).

Ranges: Integer and Continuous with ``Linear`` (``Auto`` is read as Linear), ``Logarithmic`` (MinValue > 0)
and, for Continuous, ``ReverseLogarithmic`` (0 <= MinValue < MaxValue < 1, sampled as 1 - a log-scaled value);
Categorical. ``StaticHyperParameters`` go to every trial unchanged.

The objective: the built-in algorithm's final metrics (``validation:rmse``, ...), or the last match of the
objective's ``MetricDefinitions`` regex in the trial's log (a script's output). Stopping early needs a value
per epoch: the built-in algorithm's round lines, or each match of the regex in a script's output, as SageMaker
asks of algorithms that support early stopping. The runner reads each line of the trial's job process as it
comes and, when the pruner says so, stops that process as StopTrainingJob does (SIGTERM, then SIGKILL): the
trial ends Stopped.

A stop of the tuning step (the execution is being stopped: StopHyperParameterTuningJob) stops every running trial
the same way and starts no further one; the step then ends Stopped.

Trials run ``min(MaxParallelTrainingJobs, CPU count)`` at a time, asked of Optuna a batch at a time and
reported back in trial order once the batch ends, so a seed (``RandomSeed``, default 0) gives the same trials.
Each trial is named ``<tuning job>-<NNN>-<hash>``, writes its own log (``trials/<name>.log`` beside the step's
attempts) and its model to ``<S3OutputPath>/<trial name>/output/model.tar.gz``. A failing trial does not stop
the others; the job fails when every trial failed, with their reasons.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TextIO, cast

from showcase.clock import timestamp
from showcase.errors import JobStopped, StepFailed
from showcase.local.images.xgboost_job import round_metrics
from showcase.local.jobs import JobContext, JobStop
from showcase.local.steps.common import fail, is_expression, job_arn
from showcase.local.steps.training import TrainingExecutor
from showcase.local.steptype import AwsStep, StepType
from showcase.statuses import JobStatus

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
MAX_TUNING_JOB_NAME = 32
TOP_SUMMARIES = 50
"""A TuningStep's ``TrainingJobSummaries`` holds the best 50 trials, best first (the SDK's top_k is 0-49)."""
DEFAULT_SEED = 0
MEDIAN_RULE_AFTER = 5
"""Early stopping judges a trial only once this many trials have completed (fewer make a noisy median)."""
_TRAINING = TrainingExecutor()


@dataclass(frozen=True)
class Range:
    name: str
    kind: str
    """``Integer``, ``Continuous`` or ``Categorical``."""
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainingDefinition:
    name: str | None
    training: dict[str, Any]
    """A Training step's arguments, less the tuned hyperparameters."""
    ranges: tuple[Range, ...]
    metric: str
    direction: Literal["minimize", "maximize"]
    metric_regex: str | None


@dataclass
class Trial:
    name: str
    number: int
    definition: TrainingDefinition
    tuned: dict[str, str]
    status: JobStatus = JobStatus.IN_PROGRESS
    objective: float | None = None
    failure_reason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    ended: str = ""


# -- checking ---------------------------------------------------------------------------------------


def _literal(value: Any) -> Any:
    return None if is_expression(value) else value


def _problems(arguments: dict[str, Any]) -> list[str]:
    config = arguments.get("HyperParameterTuningJobConfig")
    if not isinstance(config, dict):
        return ["a Tuning step needs HyperParameterTuningJobConfig"]
    found: list[str] = []
    strategy = _literal(config.get("Strategy", "Bayesian"))
    if strategy is not None and strategy not in STRATEGIES:
        found.append(f"Strategy {strategy} is not one of {', '.join(STRATEGIES)}")
    for key, why in (("WarmStartConfig", "warm starts from earlier tuning jobs"), ("Autotune", "Autotune")):
        if arguments.get(key):
            found.append(f"{key} is not supported locally ({why})")
    criteria = config.get("TuningJobCompletionCriteria") or {}
    if set(criteria) - {"TargetObjectiveMetricValue"}:
        found.append("TuningJobCompletionCriteria supports only TargetObjectiveMetricValue locally")
    stopping = _literal(config.get("TrainingJobEarlyStoppingType", "Off"))
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
        found.extend(f"{where}: {problem}" for problem in _definition_problems(raw, config, strategy))
    limits = config.get("ResourceLimits") or {}
    if strategy == "Grid" and single is not None and not found:
        size = _grid_size(single.get("HyperParameterRanges") or config.get("ParameterRanges") or {})
        given = _literal(limits.get("MaxNumberOfTrainingJobs"))
        if given is not None and given != size:
            found.append(f"Grid search runs every combination ({size}); MaxNumberOfTrainingJobs is {given}")
    elif strategy != "Grid" and "MaxNumberOfTrainingJobs" not in limits:
        found.append("ResourceLimits.MaxNumberOfTrainingJobs is required (except for Grid search)")
    return found


def _definition_problems(raw: dict[str, Any], config: dict[str, Any], strategy: Any) -> list[str]:
    found: list[str] = []
    objective = raw.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
    if not isinstance(objective, dict) or "MetricName" not in objective:
        found.append("no objective: HyperParameterTuningJobObjective (or the definition's TuningObjective)")
    ranges = raw.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
    try:
        parsed = _ranges(ranges)
    except ValueError as exc:
        found.append(str(exc))
        parsed = []
    if not parsed and not found:
        found.append("ParameterRanges holds no range to tune")
    if strategy == "Grid" and any(r.kind != "Categorical" for r in parsed):
        found.append("Grid search tunes categorical ranges only")
    training = _training_arguments(raw, {})
    found.extend(_TRAINING.problems(training))
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


def _ranges(raw: Any) -> list[Range]:
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


def _grid_size(raw: Any) -> int:
    return math.prod(len(r.values) for r in _ranges(raw))


def _training_arguments(raw: dict[str, Any], tuned: dict[str, str]) -> dict[str, Any]:
    """A Training step's arguments for one trial of this definition."""
    keys = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
            "StoppingCondition", "Environment", "EnableNetworkIsolation", "CheckpointConfig", "VpcConfig")  # fmt: skip
    arguments = {key: raw[key] for key in keys if key in raw}
    spec = dict(arguments.get("AlgorithmSpecification") or {})
    spec.pop("MetricDefinitions", None)
    arguments["AlgorithmSpecification"] = spec
    arguments["HyperParameters"] = {**(raw.get("StaticHyperParameters") or {}), **tuned}
    return arguments


# -- running ----------------------------------------------------------------------------------------


class TuningExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        return _problems(arguments)

    def run(self, context: JobContext) -> dict[str, Any]:
        problems = _problems(context.arguments)
        if problems:
            raise fail(context, "; ".join(problems))
        return _Tuning(context).run()


class _Tuning:
    def __init__(self, context: JobContext) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.context = context
        arguments = context.arguments
        self.config: dict[str, Any] = arguments["HyperParameterTuningJobConfig"]
        self.name = context.job_name
        self.strategy = self.config.get("Strategy", "Bayesian")
        raws = arguments.get("TrainingJobDefinitions") or [arguments["TrainingJobDefinition"]]
        self.definitions = {
            (raw.get("DefinitionName") or f"definition-{i}"): self._definition(raw) for i, raw in enumerate(raws)
        }
        limits = self.config.get("ResourceLimits") or {}
        first = next(iter(self.definitions.values()))
        grid = math.prod(len(r.values) for r in first.ranges) if self.strategy == "Grid" else None
        self.max_trials = int(grid if grid is not None else limits["MaxNumberOfTrainingJobs"])
        self.parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs", 1)), os.cpu_count() or 1))
        self.deadline = limits.get("MaxRuntimeInSeconds")
        self.seed = int(self.config.get("RandomSeed", DEFAULT_SEED))
        self.early_stopping = self.config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
        self.trial_logs = context.work_dir.parent / "trials"
        self.lock = threading.Lock()
        hyperband = (self.config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        self.min_resource = int(hyperband.get("MinResource", 1))
        self.max_resource: int | None = int(hyperband["MaxResource"]) if "MaxResource" in hyperband else None
        # Named after the seed: Hyperband puts a trial in a bracket by a hash of the study's name and the trial's
        # number, so the same seed puts the same trials in the same brackets.
        self.study = optuna.create_study(
            study_name=f"seed-{self.seed}", direction=first.direction, sampler=self._sampler(), pruner=self._pruner()
        )
        if self.strategy == "Grid":
            # Every combination once, in the grid's order: queued trials (Optuna's GridSampler stops the study
            # itself, which only works inside its optimize loop, not with the batches asked here).
            for values in itertools.product(*(r.values for r in first.ranges)):
                self.study.enqueue_trial(dict(zip((r.name for r in first.ranges), values, strict=True)))

    def _definition(self, raw: dict[str, Any]) -> TrainingDefinition:
        objective = raw.get("TuningObjective") or self.config["HyperParameterTuningJobObjective"]
        ranges = _ranges(raw.get("HyperParameterRanges") or self.config.get("ParameterRanges") or {})
        metric = str(objective["MetricName"])
        regex = next(
            (d["Regex"] for d in (raw.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
             if d.get("Name") == metric),
            None,
        )  # fmt: skip
        direction: Literal["minimize", "maximize"] = "maximize" if objective.get("Type") == "Maximize" else "minimize"
        return TrainingDefinition(raw.get("DefinitionName"), raw, tuple(ranges), metric, direction, regex)

    def _sampler(self) -> Any:
        import optuna

        if self.strategy == "Bayesian":
            return optuna.samplers.TPESampler(seed=self.seed)
        return optuna.samplers.RandomSampler(seed=self.seed)

    def _pruner(self) -> Any:
        import optuna

        if self.strategy == "Hyperband":
            return optuna.pruners.HyperbandPruner(
                min_resource=self.min_resource,
                max_resource=self.max_resource if self.max_resource is not None else "auto",
            )
        if self.early_stopping:
            return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_RULE_AFTER, n_warmup_steps=1)
        return optuna.pruners.NopPruner()

    def run(self) -> dict[str, Any]:
        context = self.context
        started = timestamp()
        context.log.write(
            f"HyperParameterTuningJob {self.name}: {self.strategy}, {self.max_trials} training job(s), "
            f"{self.parallel} at a time, seed {self.seed}; trial logs in {self.trial_logs}\n"
        )
        context.log.flush()
        trials: list[Trial] = []
        target = (self.config.get("TuningJobCompletionCriteria") or {}).get("TargetObjectiveMetricValue")
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="trial") as pool:
            while len(trials) < self.max_trials and not self._stopping():
                batch = [
                    self._ask(len(trials) + i + 1) for i in range(min(self.parallel, self.max_trials - len(trials)))
                ]
                done = list(pool.map(self._run_trial, batch))
                for trial, optuna_trial in done:
                    self._tell(trial, optuna_trial)
                trials.extend(trial for trial, _ in done)
                if target is not None and self._reached(trials, float(target)):
                    context.log.write(f"TargetObjectiveMetricValue {target} reached; no further trials\n")
                    break
                if self.deadline is not None and _elapsed(started) >= float(self.deadline):
                    context.log.write(f"ResourceLimits.MaxRuntimeInSeconds {self.deadline} reached\n")
                    break
        if self._stopping():
            message = f"HyperParameterTuningJob {self.name} was stopped after {len(trials)} training job(s)"
            context.log.write(f"{message}\n")
            context.log.flush()
            raise JobStopped(message, step_name=context.step_name, execution_id=context.execution_id)
        return self._properties(trials, started)

    def _stopping(self) -> bool:
        """The step is being stopped (StopHyperParameterTuningJob): no further trial starts."""
        return self.context.stop is not None and self.context.stop.is_set()

    def _ask(self, number: int) -> tuple[Trial, Any]:
        optuna_trial = self.study.ask()
        key = (
            optuna_trial.suggest_categorical("TrainingJobDefinitionName", list(self.definitions))
            if len(self.definitions) > 1
            else next(iter(self.definitions))
        )
        definition = self.definitions[key]
        prefix = f"{key}." if len(self.definitions) > 1 else ""
        tuned = {r.name: _suggest(optuna_trial, r, prefix) for r in definition.ranges}
        digest = hashlib.sha256(f"{self.name}/{number}".encode()).hexdigest()[:8]
        return Trial(f"{self.name}-{number:03d}-{digest}", number, definition, tuned), optuna_trial

    def _run_trial(self, asked: tuple[Trial, Any]) -> tuple[Trial, Any]:
        trial, optuna_trial = asked
        self.trial_logs.mkdir(parents=True, exist_ok=True)
        log_path = self.trial_logs / f"{trial.name}.log"
        trial.started = timestamp()
        with log_path.open("w", encoding="utf-8") as sink:
            prune = self.strategy == "Hyperband" or self.early_stopping
            stop = JobStop(within=self.context.stop)  # stopped on its own (early stopping) or with its step
            log = _TrialLog(sink, self._reporter(trial, optuna_trial, stop, sink) if prune else None)
            work_dir = self.context.work_dir / trial.name
            work_dir.mkdir(parents=True, exist_ok=True)
            arguments = _training_arguments(trial.definition.training, trial.tuned)
            context = replace(
                self.context, step_type="Training", arguments=arguments, work_dir=work_dir, log=cast(TextIO, log),
                job_name=trial.name, stop=stop,
            )  # fmt: skip
            try:
                if stop.is_set():  # its tuning job was stopped before it began
                    raise JobStopped(f"TrainingJob {trial.name} was stopped before it began")
                trial.properties = _TRAINING.run(context)
                trial.objective = self._objective(trial, log_path)
                trial.status = JobStatus.COMPLETED
            except JobStopped:
                trial.status = JobStatus.STOPPED
                if self._stopping():
                    sink.write("stopped with its tuning job\n")
                else:
                    sink.write("stopped early: the objective was worse than the other trials' at the same round\n")
            except StepFailed as exc:
                trial.status, trial.failure_reason = JobStatus.FAILED, str(exc)
            except Exception as exc:  # a trial's crash is that trial's failure, not the tuning job's
                trial.status, trial.failure_reason = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
                sink.write(f"ERROR: {trial.failure_reason}\n")
        trial.ended = timestamp()
        self._note(trial)
        return trial, optuna_trial

    def _reporter(self, trial: Trial, optuna_trial: Any, stop: threading.Event, sink: TextIO) -> Callable[[str], None]:
        """Reports each epoch's objective as the trial's job writes it; sets ``stop`` when the pruner says so
        (the job is then stopped as StopTrainingJob stops it), and says in the trial's log at which epoch. An
        epoch is a round line of the built-in algorithm, or a match of the objective's ``MetricDefinitions``
        regex in a script's output. Hyperband judges a trial up to ``MaxResource`` epochs, its last rung, and
        no further (SageMaker ends a trial there; here it trains its own rounds and completes)."""
        definition = trial.definition
        pattern = re.compile(definition.metric_regex) if definition.metric_regex is not None else None
        seen: list[float] = []

        def value_of(line: str) -> tuple[int, float] | None:
            if pattern is not None:
                match = pattern.search(line)
                return None if match is None else (len(seen), float(match.group(1 if pattern.groups else 0)))
            found = round_metrics(line)
            if found is None or definition.metric not in found[1]:
                return None
            return found[0], found[1][definition.metric]

        def on_line(line: str) -> None:
            try:
                found = None if stop.is_set() else value_of(line)
            except (ValueError, IndexError):
                return  # a regex match that is not a number: not an epoch's objective
            if found is None:
                return
            seen.append(found[1])
            epoch = found[0] + 1
            if self.strategy == "Hyperband" and self.max_resource is not None and epoch > self.max_resource:
                return
            # Hyperband judges the value at a round; SageMaker's median rule judges running averages.
            value = seen[-1] if self.strategy == "Hyperband" else sum(seen) / len(seen)
            with self.lock:
                optuna_trial.report(value, epoch)
                if optuna_trial.should_prune():
                    stop.set()
                    rule = "Hyperband" if self.strategy == "Hyperband" else "the median rule"
                    sink.write(f"{rule} stops this trial at epoch {epoch}\n")

        return on_line

    def _objective(self, trial: Trial, log_path: Path) -> float:
        definition = trial.definition
        if definition.metric_regex is not None:
            matches = re.findall(definition.metric_regex, log_path.read_text(encoding="utf-8"))
            if not matches:
                raise StepFailed(
                    f"the objective {definition.metric} was never logged (MetricDefinitions regex "
                    f"{definition.metric_regex!r} matched nothing)"
                )
            last = matches[-1]
            return float(last[0] if isinstance(last, tuple) else last)
        finals = {m["MetricName"]: m["Value"] for m in trial.properties.get("FinalMetricDataList", [])}
        if definition.metric not in finals:
            raise StepFailed(f"the objective {definition.metric} was not emitted (emitted: {', '.join(finals)})")
        return float(finals[definition.metric])

    def _tell(self, trial: Trial, optuna_trial: Any) -> None:
        import optuna

        if trial.status == JobStatus.COMPLETED:
            self.study.tell(optuna_trial, trial.objective)
        elif trial.status == JobStatus.STOPPED:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)

    def _note(self, trial: Trial) -> None:
        detail = f"objective {trial.definition.metric}={trial.objective:g}" if trial.objective is not None else ""
        reason = trial.failure_reason or ""
        with self.lock:
            self.context.log.write(f"trial {trial.name} {trial.status} {trial.tuned} {detail}{reason}\n")
            self.context.log.flush()

    def _reached(self, trials: list[Trial], target: float) -> bool:
        scores = [t.objective for t in trials if t.objective is not None]
        if not scores:
            return False
        best = min(scores) if self.study.direction.name == "MINIMIZE" else max(scores)
        return best <= target if self.study.direction.name == "MINIMIZE" else best >= target

    def _properties(self, trials: list[Trial], started: str) -> dict[str, Any]:
        ended = timestamp()
        ranked = self._ranked(trials)
        failed = [t for t in trials if t.status == JobStatus.FAILED]
        if not any(t.status == JobStatus.COMPLETED for t in trials):
            reasons = "; ".join(f"{t.name}: {t.failure_reason}" for t in failed) or "every trial was stopped"
            raise fail(
                self.context,
                f"HyperParameterTuningJob {self.name} failed: no training job completed "
                f"({len(failed)} of {len(trials)} failed): {reasons}",
            )
        arguments = self.context.arguments
        properties: dict[str, Any] = {
            key: arguments[key] for key in ("HyperParameterTuningJobConfig", "TrainingJobDefinition",
                                            "TrainingJobDefinitions") if key in arguments
        }  # fmt: skip
        count = {status: sum(t.status == status for t in trials) for status in JobStatus}
        properties.update(
            HyperParameterTuningJobName=self.name,
            HyperParameterTuningJobArn=job_arn(self.context, "hyper-parameter-tuning-job", self.name),
            HyperParameterTuningJobStatus=JobStatus.COMPLETED,
            CreationTime=started,
            HyperParameterTuningEndTime=ended,
            LastModifiedTime=ended,
            TrainingJobStatusCounters={
                "Completed": count[JobStatus.COMPLETED],
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": count[JobStatus.FAILED],
                "Stopped": count[JobStatus.STOPPED],
            },
            ObjectiveStatusCounters={
                "Succeeded": sum(t.objective is not None for t in trials),
                "Pending": 0,
                "Failed": sum(t.objective is None for t in trials),
            },
            BestTrainingJob=self._summary(ranked[0]),
            TrainingJobSummaries=[self._summary(t) for t in ranked[:TOP_SUMMARIES]],
        )
        return properties

    def _ranked(self, trials: list[Trial]) -> list[Trial]:
        """Completed trials best first (ties: the earlier trial), then stopped and failed ones in trial order."""
        sign = -1.0 if self.study.direction.name == "MAXIMIZE" else 1.0
        completed = sorted(
            (t for t in trials if t.status == JobStatus.COMPLETED),
            key=lambda t: (sign * (t.objective or 0.0), t.number),
        )
        return completed + [t for t in trials if t.status != JobStatus.COMPLETED]

    def _summary(self, trial: Trial) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "TrainingJobName": trial.name,
            "TrainingJobArn": job_arn(self.context, "training-job", trial.name),
            "TuningJobName": self.name,
            "CreationTime": trial.started,
            "TrainingStartTime": trial.started,
            "TrainingEndTime": trial.ended,
            "TrainingJobStatus": trial.status,
            "TunedHyperParameters": trial.tuned,
            "ObjectiveStatus": "Succeeded" if trial.objective is not None else "Failed",
        }
        if trial.definition.name:
            summary["TrainingJobDefinitionName"] = trial.definition.name
        if trial.failure_reason:
            summary["FailureReason"] = trial.failure_reason
        if trial.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": "Maximize" if trial.definition.direction == "maximize" else "Minimize",
                "MetricName": trial.definition.metric,
                "Value": trial.objective,
            }
        return summary


def _suggest(trial: Any, r: Range, prefix: str) -> str:
    name = prefix + r.name
    if r.kind == "Categorical":
        return str(trial.suggest_categorical(name, list(r.values)))
    if r.kind == "Integer":
        return str(trial.suggest_int(name, int(r.low), int(r.high), log=r.scaling == "Logarithmic"))
    if r.scaling == "ReverseLogarithmic":
        return repr(1.0 - trial.suggest_float(name, 1.0 - r.high, 1.0 - r.low, log=True))
    return repr(trial.suggest_float(name, r.low, r.high, log=r.scaling == "Logarithmic"))


def _elapsed(started: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(timestamp()) - datetime.fromisoformat(started)).total_seconds()


class _TrialLog(io.TextIOBase):
    """A trial's log file that also hands each complete line to ``on_line`` (which may ask the trial to stop)."""

    def __init__(self, sink: TextIO, on_line: Callable[[str], None] | None) -> None:
        super().__init__()
        self.sink = sink
        self.on_line = on_line
        self.pending = ""

    def write(self, text: str) -> int:
        self.sink.write(text)
        if self.on_line is not None:
            self.pending += text
            *lines, self.pending = self.pending.split("\n")
            for line in lines:
                self.on_line(line)
        return len(text)

    def flush(self) -> None:
        self.sink.flush()

    @property
    def name(self) -> str:
        return str(getattr(self.sink, "name", "trial log"))


STEP = StepType(
    "Tuning",
    AwsStep("TuningJob", "HyperParameterTuningJobArn", "hyper-parameter-tuning-job"),
    executor=TuningExecutor(),
    cacheable=True,
    cache_key=("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions"),
    job_process=True,
    describe="DescribeHyperParameterTuningJob",
    job_name_length=MAX_TUNING_JOB_NAME,
)
