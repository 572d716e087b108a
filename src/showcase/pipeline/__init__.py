"""The Abalone training pipeline, defined with the official SageMaker Python SDK (v3).

    prepare data -> train XGBoost -> evaluate on the test split -> review: mse <= MseThreshold ?
                 └─> data-quality baseline of the features ──────────────├── yes: register the model (and baseline)
                                                                          └── no:  fail, stating mse and threshold

With ``tune=True`` (``-k '{"tune": true}'``) it is AWS's canonical tuned shape instead:

    prepare data -> tune XGBoost (Bayesian search) -> evaluate the best model -> create a model from it
                 -> batch transform the test split -> review: mse <= MseThreshold ? register : fail

With ``model_quality_baseline=True`` (either shape) the model is also batch transformed over the test split and a
QualityCheck of MODEL_QUALITY measures its predictions (``label,prediction`` lines): the registered package's
ModelMetrics.ModelQuality and DriftCheckBaselines.ModelQuality are that baseline's statistics and constraints,
which the endpoint's model-quality monitoring checks ground truth against.

``get_pipeline(**kwargs)`` builds it with no network and no credentials; the processing scripts it
ships (``preprocess.py``, ``evaluate.py``) sit beside this package and run unchanged on SageMaker and
in the local runtime: every container path they use arrives as a command-line argument.

One module per step, built in ``_build`` in the order of the diagram; ``shared`` holds what they are all built with.
The modules import one another relatively, so the package, copied whole beside the two scripts, is a new pipeline.
"""

from __future__ import annotations

from typing import Any

from showcase.builder.offline import offline_build
from showcase.errors import UsageError

from .baseline import baseline_step
from .batch import batch_steps
from .evaluation import evaluate_step, test_mse
from .model_quality import model_quality_step
from .prepare import prepare_step, preprocessing_model_uri
from .register import register_step
from .review import fail_step, review_step
from .shared import (
    AWS_SAMPLE_DATA,
    BUNDLED_DATA,
    HERE,
    TUNABLE_HYPERPARAMETERS,
    Parameters,
    Shared,
    local_kwargs,
    parameter_name,
    split_uri,
)
from .train import TUNED_RANGES, Tuning, train_step, tune_step

__all__ = [
    "AWS_SAMPLE_DATA",
    "BUNDLED_DATA",
    "HERE",
    "TUNABLE_HYPERPARAMETERS",
    "TUNED_RANGES",
    "Tuning",
    "get_pipeline",
    "local_kwargs",
]


def get_pipeline(
    region: str,
    role: str | None = None,
    default_bucket: str | None = None,
    model_name: str = "crayonShowcase",
    model_package_group_name: str = "crayonShowcasePackageGroup",
    pipeline_name: str = "crayonShowcasePipeline",
    base_job_prefix: str = "crayonShowcase",
    input_data: str = AWS_SAMPLE_DATA,
    tune: bool = False,
    tuning_max_jobs: int | None = None,
    tuning_max_parallel_jobs: int | None = None,
    model_quality_baseline: bool = False,
    inference_pipeline: bool = False,
) -> Any:
    """Build the pipeline. ``role`` must be a full IAM role ARN (a bare name would need an IAM call).

    ``tune=True`` builds the tuned variant, with ``tuning_max_jobs`` trials (default 20), ``tuning_max_parallel_jobs``
    at a time (default 2). Either without ``tune`` is refused: it would change nothing, silently.
    ``model_quality_baseline=True`` adds the model-quality baseline of the test split's predictions.
    ``inference_pipeline=True`` registers an inference pipeline whose endpoint takes the raw Abalone record.
    """
    given = {"tuning_max_jobs": tuning_max_jobs, "tuning_max_parallel_jobs": tuning_max_parallel_jobs}
    if not tune and any(value is not None for value in given.values()):
        named = [name for name, value in given.items() if value is not None]
        verb = "configure" if len(named) > 1 else "configures"
        raise UsageError(
            f'{" and ".join(named)} {verb} the tuned variant: add "tune": true, or leave {" and ".join(named)} out'
        )
    tuning = Tuning(
        Tuning.max_jobs if tuning_max_jobs is None else tuning_max_jobs,
        Tuning.max_parallel_jobs if tuning_max_parallel_jobs is None else tuning_max_parallel_jobs,
    )
    if tuning.max_jobs < 1 or tuning.max_parallel_jobs < 1:
        raise UsageError("tuning_max_jobs and tuning_max_parallel_jobs must be at least 1")
    if not region:
        raise UsageError('get_pipeline needs region, for example -k \'{"region": "eu-west-1"}\'')
    if role is None:
        role = f"arn:aws:iam::000000000000:role/{base_job_prefix}-execution-role"
    elif not role.startswith("arn:"):
        raise UsageError(f"role must be a full IAM role ARN (arn:aws:iam::<account>:role/<name>), got {role!r}")
    if default_bucket is None:
        # The SDK's default bucket, named after the role's account (the SDK would ask STS).
        default_bucket = f"sagemaker-{region}-{role.split(':')[4] or '000000000000'}"

    with offline_build(region):
        return _build(
            region=region,
            role=role,
            default_bucket=default_bucket,
            model_name=model_name,
            model_package_group_name=model_package_group_name,
            pipeline_name=pipeline_name,
            base_job_prefix=base_job_prefix,
            input_data=input_data,
            tuning=tuning if tune else None,
            model_quality_baseline=model_quality_baseline,
            inference_pipeline=inference_pipeline,
        )


def _build(
    *,
    region: str,
    role: str,
    default_bucket: str,
    model_name: str,
    model_package_group_name: str,
    pipeline_name: str,
    base_job_prefix: str,
    input_data: str,
    tuning: Tuning | None = None,
    model_quality_baseline: bool = False,
    inference_pipeline: bool = False,
) -> Any:
    """The pipeline, built step by step in the order of the diagram above."""
    from sagemaker.mlops.workflow.pipeline import Pipeline

    shared = Shared.create(region=region, role=role, default_bucket=default_bucket, base_job_prefix=base_job_prefix)
    params = Parameters.create(input_data)
    prepare = prepare_step(shared, params, inference_pipeline=inference_pipeline)
    baseline = baseline_step(shared, params, prepare, model_package_group_name=model_package_group_name)
    if tuning is None:
        train = train_step(shared, params, prepare)
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts
        parameters = params.in_order()
    else:
        train, model_data, seed = tune_step(shared, params, prepare, tuning)
        tuned = {parameter_name(name) for name in TUNED_RANGES}
        parameters = [p for p in params.in_order() if p.name not in tuned] + [seed]
    evaluate, evaluation = evaluate_step(shared, params, prepare, model_data)
    batch = [] if tuning is None and not model_quality_baseline else batch_steps(shared, params, prepare, model_data)
    if model_quality_baseline:
        batch.append(model_quality_step(shared, params, batch[-1], model_package_group_name=model_package_group_name))
    register = register_step(
        shared,
        params,
        model_data,
        evaluate,
        baseline,
        test_data=split_uri(prepare, "test"),
        model_name=model_name,
        model_package_group_name=model_package_group_name,
        pipeline_name=pipeline_name,
        model_quality=batch[-1] if model_quality_baseline else None,
        preprocessing_model=preprocessing_model_uri(prepare) if inference_pipeline else None,
    )
    mse = test_mse(evaluate, evaluation)
    review = review_step(
        params, mse, register=register, fail=fail_step(params, mse), after=[step.name for step in batch[-1:]]
    )
    return Pipeline(
        name=pipeline_name,
        parameters=parameters,
        steps=[prepare, baseline, train, evaluate, *batch, review],
        sagemaker_session=shared.session,
    )
