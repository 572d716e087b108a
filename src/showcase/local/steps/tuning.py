"""The Tuning executor: a hyperparameter tuning job whose trials are training jobs run by the Training executor.

Search is Optuna's: ``Bayesian`` is its TPE sampler, ``Random`` its random sampler, ``Grid`` every combination
of the categorical ranges queued once (as SageMaker's grid search), ``Hyperband`` its random
sampler with its Hyperband pruner (``StrategyConfig.HyperbandStrategyConfig`` MinResource/MaxResource, in
boosting rounds). ``TrainingJobEarlyStoppingType Auto`` is SageMaker's median rule through Optuna's median
pruner: a trial whose running average of the objective up to a round is worse than the median of the completed trials'
running averages at that round is stopped (once ``tuning_job.MEDIAN_RULE_AFTER`` trials have completed).

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

from typing import Any

from showcase.local.jobs import JobContext
from showcase.local.steps import tuning_space
from showcase.local.steps.common import fail
from showcase.local.steps.tuning_job import TuningJob
from showcase.local.steptype import AwsStep, StepType

MAX_TUNING_JOB_NAME = 32
"""HyperParameterTuningJobName is at most 32 characters (botocore shape HyperParameterTuningJobName)."""


class TuningExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        return tuning_space.problems(arguments)

    def run(self, context: JobContext) -> dict[str, Any]:
        problems = tuning_space.problems(context.arguments)
        if problems:
            raise fail(context, "; ".join(problems))
        return TuningJob(context).run()


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
