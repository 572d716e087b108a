"""3b (tuned variant). Create a model from the best trial and batch transform the test split with it."""

from __future__ import annotations

from typing import Any

from .shared import Parameters, Shared, split_uri


def batch_steps(shared: Shared, params: Parameters, prepare: Any, model_data: Any) -> list[Any]:
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
            data=split_uri(prepare, "test"),
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
    )
    return [create, transform]
