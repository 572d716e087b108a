"""A small SDK pipeline whose processing code is uploaded in the ways a definition can carry it.

Written into a temporary project by tests/test_build_cache_patch.py (beside ``prep.py``, ``score.py`` and a
``lib/`` directory), then built and edited there. ``variant`` picks how the build uses ``score.py``:

- ``script``: a ScriptProcessor uploads it (the SDK names the object after its hash), for two steps;
- ``imported``: the module also imports it;
- ``read``: the module also reads it, putting its first line into the step's environment;
- ``source_dir``: a FrameworkProcessor archives ``lib/`` (with ``score.py`` its entry point) into a tar.gz;
- ``trainer``: a ModelTrainer's source code is ``lib/``, its entry script ``score.py``.

``session="sdk"`` builds with the SDK's own PipelineSession (its uploads go through boto3 to the local
build's ``PutObject``) instead of ``DefinitionSession`` (uploads deferred).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROLE = "arn:aws:iam::000000000000:role/test"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _session(kind: str, region: str, default_bucket: str) -> Any:
    if kind == "sdk":
        import boto3
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        boto_session = boto3.Session(region_name=region)
        return PipelineSession(
            boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"), default_bucket=default_bucket
        )
    from showcase.aws.session import DefinitionSession

    return DefinitionSession(region=region, default_bucket=default_bucket)


def get_pipeline(
    variant: str = "script", session: str = "ours", region: str = "us-east-1", default_bucket: str = "bucket"
) -> Any:
    from sagemaker.core.processing import FrameworkProcessor, ScriptProcessor
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

    sagemaker_session = _session(session, region, default_bucket)
    cache = CacheConfig(enable_caching=True, expire_after="P1D")
    common = {"role": ROLE, "instance_type": "ml.m5.large", "instance_count": 1, "sagemaker_session": sagemaker_session}
    env = {}
    if variant == "imported":
        spec = importlib.util.spec_from_file_location("score_as_module", HERE / "score.py")
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    if variant == "read":
        env["SCORE_HEADER"] = (HERE / "score.py").read_text().splitlines()[0]
    steps = [
        ProcessingStep(
            name="Prep",
            cache_config=cache,
            step_args=ScriptProcessor(image_uri=IMAGE, command=["python3"], **common).run(code=str(HERE / "prep.py")),
        )
    ]
    if variant == "source_dir":
        processor = FrameworkProcessor(image_uri=IMAGE, command=["python3"], **common)
        steps.append(
            ProcessingStep(name="Score", step_args=processor.run(code="score.py", source_dir=str(HERE / "lib")))
        )
    elif variant == "trainer":
        from sagemaker.core.training.configs import Compute, SourceCode
        from sagemaker.train import ModelTrainer

        trainer = ModelTrainer(
            training_image=IMAGE,
            role=ROLE,
            sagemaker_session=sagemaker_session,
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            source_code=SourceCode(source_dir=str(HERE / "lib"), entry_script="score.py"),
            base_job_name="score",
        )
        steps.append(TrainingStep(name="Score", step_args=trainer.train()))
    else:
        for name in ("Score", "ScoreAgain"):
            processor = ScriptProcessor(image_uri=IMAGE, command=["python3"], env=env or None, **common)
            step_args = processor.run(code=str(HERE / "score.py"))
            steps.append(ProcessingStep(name=name, cache_config=cache, step_args=step_args))
    return Pipeline(name="CodeUploads", steps=steps, sagemaker_session=sagemaker_session)
