"""The local runtime's job executors, by step ``Type``; the engine evaluates Condition and Fail itself."""

from __future__ import annotations

from showcase.local.executors.model import ModelExecutor
from showcase.local.executors.processing import ProcessingExecutor
from showcase.local.executors.quality_check import QualityCheckExecutor
from showcase.local.executors.register import RegisterModelExecutor
from showcase.local.executors.training import TrainingExecutor
from showcase.local.executors.transform import TransformExecutor
from showcase.local.executors.tuning import TuningExecutor
from showcase.local.jobs import Executor

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
