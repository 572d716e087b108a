"""The step types the local runtime knows, one module each, and the one table of them.

A step type is one module that declares a ``StepType`` (``showcase.local.steptype``: its executor or evaluator,
its cache key, inputs and outputs, whether it runs in a job process, how SageMaker reports it) and one line
here. The engine, the cache, lineage, ``aws.pipelines`` and the local API read the declarations; none of them
names a step type. ``docs/architecture.md`` has the recipe for a new one.
"""

from __future__ import annotations

from showcase.local.steps import (
    callback,
    clarify_check,
    condition,
    fail,
    lambda_step,
    model,
    processing,
    quality_check,
    register,
    training,
    transform,
    tuning,
)
from showcase.local.steptype import StepType, refused

STEP_TYPES: dict[str, StepType] = {
    step.name: step
    for step in (
        processing.STEP,
        training.STEP,
        tuning.STEP,
        model.STEP,
        transform.STEP,
        register.STEP,
        quality_check.STEP,
        condition.STEP,
        fail.STEP,
        lambda_step.STEP,
        callback.STEP,
        refused("EMR", "it runs on an Amazon EMR cluster", "EMR"),
        clarify_check.STEP,
        refused("AutoML", "it runs an Autopilot job", "AutoMLJob"),
        refused("EMRServerless", "it runs a job on an Amazon EMR Serverless application", "EMRServerless"),
        refused("EndpointConfig", "it creates a SageMaker endpoint configuration", "EndpointConfig"),
        refused("Endpoint", "it creates or updates a SageMaker endpoint", "Endpoint"),
        refused("InferenceComponent", "it creates a SageMaker inference component", "InferenceComponent"),
        refused("Lineage", "it writes SageMaker ML Lineage entities, which the runtime does not keep", "Lineage"),
        refused("Job", "it runs a job through SageMaker's generic CreateJob API", "Job"),
        refused("Cleanup", "it deletes SageMaker resources the run made", "Cleanup"),
        refused("ForEach", "it runs its steps once per item of a list, and the engine does not loop", "ForEach"),
    )
}

__all__ = ["STEP_TYPES"]
