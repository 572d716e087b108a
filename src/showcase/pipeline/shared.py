"""What every step of the pipeline is built with: the role, the offline session, the images, the cache and the
run's S3 prefix (``Shared``), and the parameters a run may change (``Parameters``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from showcase import settings
from showcase.aws.session import DefinitionSession

HERE = Path(__file__).resolve().parents[1]
"""Where the processing scripts the pipeline ships sit: ``preprocess.py``, ``evaluate.py``."""

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


def newest_version(framework: str) -> str:
    """The newest training image version the pinned SDK knows for ``framework``."""
    from sagemaker.core import image_uris

    versions = image_uris.config_for_framework(framework)["training"]["versions"]

    def key(version: str) -> tuple[int, ...]:
        digits = version.split("-py")[0].replace("-", ".").split(".")
        return tuple(int(part) for part in digits if part.isdigit())

    return max(versions, key=key)


def parameter_name(hyperparameter: str) -> str:
    """``max_depth`` -> ``MaxDepth``: the pipeline parameter of a hyperparameter."""
    return hyperparameter.title().replace("_", "")


@dataclass(frozen=True)
class Shared:
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
    def create(cls, *, region: str, role: str, default_bucket: str, base_job_prefix: str) -> Shared:
        from sagemaker.core import image_uris
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.steps import CacheConfig

        session = DefinitionSession(region=region, default_bucket=default_bucket)
        cache = CacheConfig(enable_caching=True, expire_after="P30D")
        sklearn_image = image_uris.retrieve(
            framework="sklearn", region=region, version=newest_version("sklearn"), instance_type="ml.m5.xlarge"
        )
        xgboost_image = image_uris.retrieve(framework="xgboost", region=region, version=newest_version("xgboost"))
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
class Parameters:
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
    def create(cls, input_data: str) -> Parameters:
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
                    name=parameter_name(name), default_value=value
                )
                for name, value in TUNABLE_HYPERPARAMETERS.items()
            },
        )

    def in_order(self) -> list[Any]:
        """Every parameter, in the order the definition lists them."""
        singles = [getattr(self, f.name) for f in fields(self) if f.name != "hyperparameters"]
        return [*singles, *self.hyperparameters.values()]


def split_uri(prepare: Any, split: str) -> Any:
    """Where PrepareData wrote one split (train, validation, test or metadata)."""
    return prepare.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri
