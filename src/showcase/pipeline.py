"""The Abalone training pipeline, defined with the official SageMaker Python SDK (v3).

    prepare data -> train XGBoost -> evaluate on the test split -> review: mse <= MseThreshold ?
                 └─> data-quality baseline of the features ──────────────├── yes: register the model (and baseline)
                                                                          └── no:  fail, stating mse and threshold

With ``tune=True`` (``-k '{"tune": true}'``) it is AWS's canonical tuned shape instead:

    prepare data -> tune XGBoost (Bayesian search) -> evaluate the best model -> create a model from it
                 -> batch transform the test split -> review: mse <= MseThreshold ? register : fail

``get_pipeline(**kwargs)`` builds it with no network and no credentials; the processing scripts it
ships (``preprocess.py``, ``evaluate.py``) sit beside this module and run unchanged on SageMaker and
in the local runtime: every container path they use arrives as a command-line argument.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from showcase import settings
from showcase.aws.session import DefinitionSession
from showcase.builder.offline import offline_build
from showcase.errors import UsageError

HERE = Path(__file__).resolve().parent

# The public AWS sample copy of the UCI Abalone data (headerless, as UCI ships it).
AWS_SAMPLE_DATA = "s3://sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv"
# UCI's file as the repository ships it (data/README.md: origin, licence, sha256), for runs outside AWS.
BUNDLED_DATA = HERE.parents[1] / "data" / "abalone.data"

PROCESSING = "/opt/ml/processing"

# The AWS Abalone example's hyperparameters; the ones users tune are pipeline parameters.
TUNABLE_HYPERPARAMETERS: dict[str, Any] = {
    "num_round": 50,
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.7,
}


def local_kwargs() -> dict[str, Any]:
    """Keyword arguments for a run on the local runtime, under any the user gives.

    The data is the copy the repository ships (no network), or a copy named by ``SHOWCASE_INPUT_DATA``;
    ``-p InputData=...`` (a path or an ``https://`` URL) overrides either for one run.
    """
    local_copy = settings.load().input_data
    return {
        "region": os.environ.get("AWS_DEFAULT_REGION", settings.DEFAULT_REGION),
        "default_bucket": "showcase-local",
        "input_data": str(Path(local_copy).resolve() if local_copy else BUNDLED_DATA),
    }


def _newest_version(framework: str) -> str:
    """The newest training image version the pinned SDK knows for ``framework``."""
    from sagemaker.core import image_uris

    versions = image_uris.config_for_framework(framework)["training"]["versions"]

    def key(version: str) -> tuple[int, ...]:
        digits = version.split("-py")[0].replace("-", ".").split(".")
        return tuple(int(part) for part in digits if part.isdigit())

    return max(versions, key=key)


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
) -> Any:
    """Build the pipeline. ``role`` must be a full IAM role ARN (a bare name would need an IAM call).

    ``tune=True`` builds the tuned variant, with ``tuning_max_jobs`` trials (default 20), ``tuning_max_parallel_jobs``
    at a time (default 2). Either without ``tune`` is refused: it would change nothing, silently.
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
) -> Any:
    """The pipeline, built step by step in the order of the diagram above."""
    from sagemaker.mlops.workflow.pipeline import Pipeline

    shared = _Shared.create(region=region, role=role, default_bucket=default_bucket, base_job_prefix=base_job_prefix)
    params = _Parameters.create(input_data)
    prepare = _prepare(shared, params)
    baseline = _data_quality_baseline(shared, params, prepare, model_package_group_name=model_package_group_name)
    if tuning is None:
        train = _train(shared, params, prepare)
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts
        parameters = params.in_order()
    else:
        train, model_data, seed = _tune(shared, params, prepare, tuning)
        tuned = {_parameter_name(name) for name in TUNED_RANGES}
        parameters = [p for p in params.in_order() if p.name not in tuned] + [seed]
    evaluate, evaluation = _evaluate(shared, params, prepare, model_data)
    register = _register(
        shared,
        params,
        model_data,
        evaluate,
        baseline,
        model_name=model_name,
        model_package_group_name=model_package_group_name,
        pipeline_name=pipeline_name,
    )
    mse = _test_mse(evaluate, evaluation)
    batch = [] if tuning is None else _batch_predictions(shared, params, prepare, model_data)
    review = _review(
        params, mse, register=register, fail=_fail_on_mse(params, mse), after=[step.name for step in batch[-1:]]
    )
    return Pipeline(
        name=pipeline_name,
        parameters=parameters,
        steps=[prepare, baseline, train, evaluate, *batch, review],
        sagemaker_session=shared.session,
    )


def _parameter_name(hyperparameter: str) -> str:
    """``max_depth`` -> ``MaxDepth``: the pipeline parameter of a hyperparameter."""
    return hyperparameter.title().replace("_", "")


@dataclass(frozen=True)
class _Shared:
    """What every step is built with: the role, the offline session, the images, the cache, the run's S3 prefix."""

    role: str
    session: Any
    base_job_prefix: str
    cache: Any
    run_prefix: Any
    sklearn_image: str
    xgboost_image: str
    bucket: str
    model_monitor_image: str

    @classmethod
    def create(cls, *, region: str, role: str, default_bucket: str, base_job_prefix: str) -> _Shared:
        from sagemaker.core import image_uris
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.steps import CacheConfig

        session = DefinitionSession(region=region, default_bucket=default_bucket)
        cache = CacheConfig(enable_caching=True, expire_after="P30D")
        sklearn_image = image_uris.retrieve(
            framework="sklearn", region=region, version=_newest_version("sklearn"), instance_type="ml.m5.xlarge"
        )
        xgboost_image = image_uris.retrieve(framework="xgboost", region=region, version=_newest_version("xgboost"))
        model_monitor_image = image_uris.retrieve(framework="model-monitor", region=region)
        run_prefix = Join(
            on="/", values=[f"s3://{default_bucket}", base_job_prefix, ExecutionVariables.PIPELINE_EXECUTION_ID]
        )
        return cls(
            role,
            session,
            base_job_prefix,
            cache,
            run_prefix,
            sklearn_image,
            xgboost_image,
            default_bucket,
            model_monitor_image,
        )

    def under_run(self, *parts: Any) -> Any:
        """An S3 URI under this execution's prefix."""
        from sagemaker.core.workflow.functions import Join

        return Join(on="/", values=[self.run_prefix, *parts])

    def processor(self, image: str, instance_type: Any, instance_count: Any, job: str) -> Any:
        """A Python script processor; its code is uploaded (deferred) by ``.run(code=...)``."""
        from sagemaker.core.processing import ScriptProcessor

        return ScriptProcessor(
            image_uri=image,
            command=["python3"],
            role=self.role,
            instance_type=instance_type,
            instance_count=instance_count,
            base_job_name=f"{self.base_job_prefix}-{job}",
            sagemaker_session=self.session,
        )


@dataclass(frozen=True)
class _Parameters:
    """What a run may change without republishing the pipeline."""

    input_data: Any
    split_seed: Any
    mse_threshold: Any
    approval_status: Any
    prep_instance_type: Any
    prep_instance_count: Any
    train_instance_type: Any
    train_instance_count: Any
    eval_instance_type: Any
    eval_instance_count: Any
    inference_instance_type: Any
    transform_instance_type: Any
    baseline_instance_type: Any
    skip_data_quality_check: Any
    register_new_data_quality_baseline: Any
    hyperparameters: dict[str, Any]

    @classmethod
    def create(cls, input_data: str) -> _Parameters:
        from sagemaker.core.workflow.parameters import (
            ParameterBoolean,
            ParameterFloat,
            ParameterInteger,
            ParameterString,
        )

        return cls(
            input_data=ParameterString(name="InputData", default_value=input_data),
            split_seed=ParameterInteger(name="SplitSeed", default_value=42),
            mse_threshold=ParameterFloat(name="MseThreshold", default_value=6.0),
            approval_status=ParameterString(name="ModelApprovalStatus", default_value="Approved"),
            prep_instance_type=ParameterString(name="PrepInstanceType", default_value="ml.m5.xlarge"),
            prep_instance_count=ParameterInteger(name="PrepInstanceCount", default_value=1),
            train_instance_type=ParameterString(name="TrainInstanceType", default_value="ml.m5.xlarge"),
            train_instance_count=ParameterInteger(name="TrainInstanceCount", default_value=1),
            eval_instance_type=ParameterString(name="EvalInstanceType", default_value="ml.m5.large"),
            eval_instance_count=ParameterInteger(name="EvalInstanceCount", default_value=1),
            inference_instance_type=ParameterString(name="InferenceInstanceType", default_value="ml.m5.large"),
            transform_instance_type=ParameterString(name="TransformInstanceType", default_value="ml.m5.large"),
            baseline_instance_type=ParameterString(name="BaselineInstanceType", default_value="ml.m5.xlarge"),
            # The first run has no earlier baseline to check against: skip the check, register the new baseline.
            skip_data_quality_check=ParameterBoolean(name="SkipDataQualityCheck", default_value=True),
            register_new_data_quality_baseline=ParameterBoolean(
                name="RegisterNewDataQualityBaseline", default_value=True
            ),
            hyperparameters={
                name: (ParameterInteger if isinstance(value, int) else ParameterFloat)(
                    name=_parameter_name(name), default_value=value
                )
                for name, value in TUNABLE_HYPERPARAMETERS.items()
            },
        )

    def in_order(self) -> list[Any]:
        """Every parameter, in the order the definition lists them."""
        singles = [getattr(self, f.name) for f in fields(self) if f.name != "hyperparameters"]
        return [*singles, *self.hyperparameters.values()]


def _split_uri(prepare: Any, split: str) -> Any:
    """Where PrepareData wrote one split (train, validation, test or metadata)."""
    return prepare.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri


def _prepare(shared: _Shared, params: _Parameters) -> Any:
    """1. Prepare: check, encode, scale and split the data (scikit-learn image)."""
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.mlops.workflow.steps import ProcessingStep

    processor = shared.processor(shared.sklearn_image, params.prep_instance_type, params.prep_instance_count, "prepare")
    return ProcessingStep(
        name="PrepareData",
        display_name="Prepare data",
        description="Check the Abalone data, one-hot encode sex, scale, split 70/15/15 with a seed.",
        cache_config=shared.cache,
        step_args=processor.run(
            code=str(HERE / "preprocess.py"),
            arguments=[
                "--input-data",
                params.input_data,
                "--seed",
                params.split_seed.to_string(),
                "--output-dir",
                f"{PROCESSING}/output",
            ],
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    s3_output=ProcessingS3Output(
                        s3_uri=shared.under_run("data", split),
                        local_path=f"{PROCESSING}/output/{split}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for split in ("train", "validation", "test", "metadata", "baseline")
            ],
        ),
    )


def _data_quality_baseline(shared: _Shared, params: _Parameters, prepare: Any, *, model_package_group_name: str) -> Any:
    """1b. A data-quality baseline of the train split's features, as the endpoint receives them (Model Monitor's
    analyzer image): statistics.json and constraints.json. With SkipDataQualityCheck false it also checks the
    features against the baseline of the newest Approved package in the group, failing on a violation."""
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    check_job = CheckJobConfig(
        role=shared.role,
        instance_count=1,
        instance_type=params.baseline_instance_type,
        base_job_name=f"{shared.base_job_prefix}-baseline",
        sagemaker_session=shared.session,
    )
    return QualityCheckStep(
        name="DataQualityBaseline",
        display_name="Data-quality baseline",
        description="Statistics and constraints of the train features: what endpoint traffic is checked against.",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=_split_uri(prepare, "baseline"),
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=shared.under_run("data-quality-baseline"),
        ),
        check_job_config=check_job,
        skip_check=params.skip_data_quality_check,
        register_new_baseline=params.register_new_data_quality_baseline,
        model_package_group_name=model_package_group_name,
        cache_config=shared.cache,
    )


def _xgboost_trainer(
    shared: _Shared, params: _Parameters, *, job: str, output: Any, hyperparameters: dict[str, Any]
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


def _training_channels(prepare: Any) -> list[Any]:
    """The train and validation splits as the algorithm's ``text/csv`` channels of the same names."""
    from sagemaker.core.training.configs import InputData

    return [
        InputData(channel_name=split, data_source=_split_uri(prepare, split), content_type="text/csv")
        for split in ("train", "validation")
    ]


def _train(shared: _Shared, params: _Parameters, prepare: Any) -> Any:
    """2. Train: the built-in XGBoost algorithm."""
    from sagemaker.mlops.workflow.steps import TrainingStep

    trainer = _xgboost_trainer(
        shared, params, job="train", output=shared.under_run("model"), hyperparameters=params.hyperparameters
    )
    return TrainingStep(
        name="TrainModel",
        display_name="Train XGBoost",
        description="Train the built-in XGBoost algorithm on the train split, validating on the validation split.",
        cache_config=shared.cache,
        step_args=trainer.train(input_data_config=_training_channels(prepare)),
    )


def _tune(shared: _Shared, params: _Parameters, prepare: Any, tuning: Tuning) -> tuple[Any, Any, Any]:
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
    trainer = _xgboost_trainer(
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
        step_args=tuner.tune(inputs=_training_channels(prepare)),
    )
    return step, step.get_top_model_s3_uri(top_k=0, s3_bucket=shared.bucket, prefix=prefix), seed


def _batch_predictions(shared: _Shared, params: _Parameters, prepare: Any, model_data: Any) -> list[Any]:
    """3b (tuned variant). Create a model from the best trial and batch transform the test split with it.

    The test split's first column is the label: the model gets the rest, and each output line is
    ``label,prediction`` (InputFilter, JoinSource, OutputFilter).
    """
    from sagemaker.core.transformer import Transformer
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.steps import TransformStep
    from sagemaker.serve.model_builder import ModelBuilder

    builder = ModelBuilder(
        image_uri=shared.xgboost_image,
        s3_model_data_url=model_data,
        role_arn=shared.role,
        sagemaker_session=shared.session,
    )
    create = ModelStep(
        name="CreateModel",
        display_name="Create model",
        description="Create a SageMaker model from the best trial's artifact.",
        step_args=builder.build(),
    )
    transformer = Transformer(
        model_name=create.properties.ModelName,
        instance_type=params.transform_instance_type,
        instance_count=1,
        output_path=shared.under_run("transform"),
        accept="text/csv",
        assemble_with="Line",
        strategy="MultiRecord",
        sagemaker_session=shared.session,
    )
    transform = TransformStep(
        name="TransformTest",
        display_name="Batch transform the test split",
        description="Predict every row of the test split; each output line is label,prediction.",
        cache_config=shared.cache,
        step_args=transformer.transform(
            data=_split_uri(prepare, "test"),
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
    )
    return [create, transform]


def _evaluate(shared: _Shared, params: _Parameters, prepare: Any, model_data: Any) -> tuple[Any, Any]:
    """3. Evaluate on the test split (XGBoost image); returns the step and its ``evaluation.json`` property file."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.steps import ProcessingStep

    def mounted(name: str, s3_uri: Any) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=s3_uri, local_path=f"{PROCESSING}/{name}", s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    evaluation = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    processor = shared.processor(
        shared.xgboost_image, params.eval_instance_type, params.eval_instance_count, "evaluate"
    )
    step = ProcessingStep(
        name="EvaluateModel",
        display_name="Evaluate model",
        description="Compute MSE, RMSE, MAE and R2 of the trained model on the test split.",
        cache_config=shared.cache,
        property_files=[evaluation],
        step_args=processor.run(
            code=str(HERE / "evaluate.py"),
            arguments=[
                "--model-dir",
                f"{PROCESSING}/model",
                "--test-dir",
                f"{PROCESSING}/test",
                "--output-dir",
                f"{PROCESSING}/evaluation",
            ],
            inputs=[
                mounted("model", model_data),
                mounted("test", _split_uri(prepare, "test")),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output=ProcessingS3Output(
                        s3_uri=shared.under_run("evaluation"),
                        local_path=f"{PROCESSING}/evaluation",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
    )
    return step, evaluation


def _register(
    shared: _Shared,
    params: _Parameters,
    model_data: Any,
    evaluate: Any,
    baseline: Any,
    *,
    model_name: str,
    model_package_group_name: str,
    pipeline_name: str,
) -> Any:
    """4a. Register the model with its test metrics, a link to its evaluation report, and the data-quality baseline
    (the one calculated, in ModelMetrics; the one to check traffic against, in DriftCheckBaselines)."""
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    evaluation_output = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    evaluation_uri = Join(on="/", values=[evaluation_output, "evaluation.json"])
    # ModelMetrics has no slot for an HTML page; the SDK types CustomerMetadataProperties' values as
    # pipeline variables (Dict[str, StrPipeVar]), so the package carries the report's URI there.
    report_uri = Join(on="/", values=[evaluation_output, "report.html"])

    def json_source(s3_uri: Any) -> Any:
        return MetricsSource(content_type="application/json", s3_uri=s3_uri)

    builder = ModelBuilder(
        image_uri=shared.xgboost_image,
        s3_model_data_url=model_data,
        role_arn=shared.role,
        sagemaker_session=shared.session,
    )
    return ModelStep(
        name="RegisterModel",
        display_name="Register model",
        description="Register the model and its test metrics in the model package group.",
        step_args=builder.register(
            model_package_group_name=model_package_group_name,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=[params.inference_instance_type],
            transform_instances=[params.transform_instance_type],
            approval_status=params.approval_status,
            description=f"{model_name}: XGBoost regression of Abalone rings, built by {pipeline_name}",
            customer_metadata_properties={"ModelName": model_name, "EvaluationReport": report_uri},
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(content_type="application/json", s3_uri=evaluation_uri),
                model_data_statistics=json_source(baseline.properties.CalculatedBaselineStatistics),
                model_data_constraints=json_source(baseline.properties.CalculatedBaselineConstraints),
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=json_source(baseline.properties.BaselineUsedForDriftCheckStatistics),
                model_data_constraints=json_source(baseline.properties.BaselineUsedForDriftCheckConstraints),
            ),
        ),
    )


def _test_mse(evaluate: Any, evaluation: Any) -> Any:
    """The test MSE, read from the evaluation report when the condition is evaluated."""
    from sagemaker.core.workflow.functions import JsonGet

    return JsonGet(step_name=evaluate.name, property_file=evaluation, json_path="regression_metrics.mse.value")


def _fail_on_mse(params: _Parameters, mse: Any) -> Any:
    """4b. Or fail, stating the MSE and the threshold."""
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.fail_step import FailStep

    return FailStep(
        name="FailOnMse",
        display_name="MSE above threshold",
        error_message=Join(
            on="",
            values=[
                "Test MSE ",
                mse,
                " is above the threshold MseThreshold=",
                params.mse_threshold,
                "; the model was not registered.",
            ],
        ),
    )


def _review(params: _Parameters, mse: Any, *, register: Any, fail: Any, after: list[str]) -> Any:
    """4. Review: register when the test MSE is at most MseThreshold, else fail (once the steps ``after`` ran)."""
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    return ConditionStep(
        name="ReviewMse",
        display_name="Review MSE",
        description="Register the model when its test MSE is at most MseThreshold, else fail.",
        conditions=[ConditionLessThanOrEqualTo(left=mse, right=params.mse_threshold)],
        if_steps=[register],
        else_steps=[fail],
        depends_on=after or None,
    )
