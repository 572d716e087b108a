"""A hyperparameter tuning job as it runs: trials asked of Optuna a batch at a time, each a training job run by the
Training step type's executor, stopped early when the pruner says so, reported back in trial order (``tuning``
says how each part of SageMaker's request maps onto this)."""

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
from showcase.local.steps.common import fail, job_arn
from showcase.local.steps.tuning_space import (
    TRAINING,
    TrainingDefinition,
    parse_ranges,
    suggest,
    training_arguments,
)
from showcase.statuses import JobStatus

TOP_SUMMARIES = 50
"""A TuningStep's ``TrainingJobSummaries`` holds the best 50 trials, best first (the SDK's top_k is 0-49)."""
DEFAULT_SEED = 0
MEDIAN_RULE_AFTER = 5
"""Early stopping judges a trial only once this many trials have completed (fewer make a noisy median)."""


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


class TuningJob:
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
        ranges = parse_ranges(raw.get("HyperParameterRanges") or self.config.get("ParameterRanges") or {})
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
        tuned = {r.name: suggest(optuna_trial, r, prefix) for r in definition.ranges}
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
            arguments = training_arguments(trial.definition.training, trial.tuned)
            context = replace(
                self.context, step_type="Training", arguments=arguments, work_dir=work_dir, log=cast(TextIO, log),
                job_name=trial.name, stop=stop,
            )  # fmt: skip
            try:
                if stop.is_set():  # its tuning job was stopped before it began
                    raise JobStopped(f"TrainingJob {trial.name} was stopped before it began")
                trial.properties = TRAINING.run(context)
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
