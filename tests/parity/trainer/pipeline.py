"""Two SDK v3 ModelTrainer(source_code=...) jobs on the scikit-learn image, side by side in one pipeline.

The training script hard-codes the container's paths; SageMaker's own ``sm_train.sh`` driver installs its
``requirements.txt`` (``python -m pip install -r``), then runs it.
"""

from __future__ import annotations

from pathlib import Path

from sagemaker.core import image_uris
from sagemaker.core.training.configs import Compute, InputData, SourceCode
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import TrainingStep
from sagemaker.train import ModelTrainer

HERE = Path(__file__).resolve().parent


def get_pipeline(region, role=None, default_bucket=None, pipeline_name="TwoTrainers"):
    session = PipelineSession(default_bucket=default_bucket)
    image = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    fail_second = ParameterString(name="FailSecond", default_value="no")

    def step(name, fail):
        trainer = ModelTrainer(
            training_image=image,
            source_code=SourceCode(
                source_dir=str(HERE / "code"), entry_script="train.py", requirements="requirements.txt"
            ),
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            hyperparameters={"name": name, "fail": fail},
            base_job_name=f"trainer-{name.lower()}",
            sagemaker_session=session,
            role=role,
        )
        return TrainingStep(
            name=name,
            step_args=trainer.train(
                input_data_config=[InputData(channel_name="train", data_source=str(HERE / "data"))]
            ),
        )

    return Pipeline(
        name=pipeline_name,
        parameters=[fail_second],
        steps=[step("First", "no"), step("Second", fail_second)],
        sagemaker_session=session,
    )
