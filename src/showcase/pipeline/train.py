"""2. Train the built-in XGBoost algorithm, or (the tuned variant) tune it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .shared import Parameters, Shared, split_uri

# The tuned variant's search space around the example's values (SageMaker's XGBoost tuning guide's ranges).
TUNED_RANGES: dict[str, tuple[str, float, float, str]] = {
    "max_depth": ("Integer", 2, 10, "Linear"),
    "eta": ("Continuous", 0.02, 0.5, "Logarithmic"),
    "gamma": ("Continuous", 0, 5, "Linear"),
    "min_child_weight": ("Continuous", 1, 10, "Linear"),
    "subsample": ("Continuous", 0.5, 1, "Linear"),
}


@dataclass(frozen=True)
class Tuning:
    """How the tuned variant searches: trials in all, trials at a time."""

    max_jobs: int = 20
    max_parallel_jobs: int = 2


def xgboost_trainer(
    shared: Shared, params: Parameters, *, job: str, output: Any, hyperparameters: dict[str, Any]
) -> Any:
    """The built-in XGBoost algorithm on the training instances, writing its models under ``output``."""
    from sagemaker.core.training.configs import Compute, OutputDataConfig
    from sagemaker.train import ModelTrainer

    return ModelTrainer(
        training_image=shared.xgboost_image,
        role=shared.role,
        base_job_name=f"{shared.base_job_prefix}-{job}",
        sagemaker_session=shared.session,
        compute=Compute(instance_type=params.train_instance_type, instance_count=params.train_instance_count),
        output_data_config=OutputDataConfig(s3_output_path=output),
        hyperparameters={"objective": "reg:squarederror", **hyperparameters},
    )


def training_channels(prepare: Any) -> list[Any]:
    """The train and validation splits as the algorithm's ``text/csv`` channels of the same names."""
    from sagemaker.core.training.configs import InputData

    return [
        InputData(channel_name=split, data_source=split_uri(prepare, split), content_type="text/csv")
        for split in ("train", "validation")
    ]


def train_step(shared: Shared, params: Parameters, prepare: Any) -> Any:
    """2. Train: the built-in XGBoost algorithm."""
    from sagemaker.mlops.workflow.steps import TrainingStep

    trainer = xgboost_trainer(
        shared, params, job="train", output=shared.under_run("model"), hyperparameters=params.hyperparameters
    )
    return TrainingStep(
        name="TrainModel",
        display_name="Train XGBoost",
        description="Train the built-in XGBoost algorithm on the train split, validating on the validation split.",
        cache_config=shared.cache,
        step_args=trainer.train(input_data_config=training_channels(prepare)),
    )


def tune_step(shared: Shared, params: Parameters, prepare: Any, tuning: Tuning) -> tuple[Any, Any, Any]:
    """2 (tuned variant). Tune the built-in XGBoost algorithm: Bayesian search on validation RMSE, early stopping.

    Returns the step, the best trial's model (``TuningStep.get_top_model_s3_uri``) and the TuningSeed parameter.
    """
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterInteger
    from sagemaker.mlops.workflow.steps import TuningStep
    from sagemaker.train.tuner import HyperparameterTuner

    seed = ParameterInteger(name="TuningSeed", default_value=42)
    prefix = Join(on="/", values=[shared.base_job_prefix, ExecutionVariables.PIPELINE_EXECUTION_ID, "tuning"])
    trainer = xgboost_trainer(
        shared,
        params,
        job="tune",
        output=Join(on="/", values=[f"s3://{shared.bucket}", prefix]),
        hyperparameters={"num_round": params.hyperparameters["num_round"]},
    )
    kinds = {"Integer": IntegerParameter, "Continuous": ContinuousParameter}
    tuner = HyperparameterTuner(
        model_trainer=trainer,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            name: kinds[kind](low, high, scaling_type=scaling)
            for name, (kind, low, high, scaling) in TUNED_RANGES.items()
        },
        strategy="Bayesian",
        max_jobs=tuning.max_jobs,
        max_parallel_jobs=tuning.max_parallel_jobs,
        early_stopping_type="Auto",
        random_seed=seed,
        base_tuning_job_name=f"{shared.base_job_prefix}-tune",
    )
    step = TuningStep(
        name="TuneModel",
        display_name="Tune XGBoost",
        description="Search XGBoost's hyperparameters for the lowest validation RMSE (Bayesian, early stopping).",
        cache_config=shared.cache,
        step_args=tuner.tune(inputs=training_channels(prepare)),
    )
    return step, step.get_top_model_s3_uri(top_k=0, s3_bucket=shared.bucket, prefix=prefix), seed
