"""The local runtime's job executors, by step ``Type``; the engine evaluates Condition and Fail itself."""

from __future__ import annotations

from showcase.local.jobs import Executor
from showcase.local.steps.model import ModelExecutor
from showcase.local.steps.processing import ProcessingExecutor
from showcase.local.steps.quality_check import QualityCheckExecutor
from showcase.local.steps.register import RegisterModelExecutor
from showcase.local.steps.training import TrainingExecutor
from showcase.local.steps.transform import TransformExecutor
from showcase.local.steps.tuning import TuningExecutor

EXECUTORS: dict[str, Executor] = {
    "Processing": ProcessingExecutor(),
    "Training": TrainingExecutor(),
    "RegisterModel": RegisterModelExecutor(),
    "Model": ModelExecutor(),
    "Transform": TransformExecutor(),
    "Tuning": TuningExecutor(),
    "QualityCheck": QualityCheckExecutor(),
}

__all__ = [
    "EXECUTORS",
    "ModelExecutor",
    "ProcessingExecutor",
    "QualityCheckExecutor",
    "RegisterModelExecutor",
    "TrainingExecutor",
    "TransformExecutor",
    "TuningExecutor",
]
