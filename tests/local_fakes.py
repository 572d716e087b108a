"""Fake executors and small definition builders for the engine's unit tests (no real jobs run).

The engine gets the real step type declarations (cache keys, inputs, Condition, Fail, the refused types) with fake
executors in place of Processing's, Training's and RegisterModel's; the other job step types are left out."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from showcase.local.engine import Engine, Event
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.local.steptype import StepType
from showcase.settings import Settings
from showcase.store import ObjectStore

Behaviour = Callable[[JobContext], dict[str, Any]]


def _processing_properties(context: JobContext) -> dict[str, Any]:
    return {"ProcessingOutputConfig": context.arguments.get("ProcessingOutputConfig", {"Outputs": []})}


def _training_properties(context: JobContext) -> dict[str, Any]:
    base = context.arguments["OutputDataConfig"]["S3OutputPath"]
    return {"ModelArtifacts": {"S3ModelArtifacts": f"{base}/{context.step_name}/output/model.tar.gz"}}


class FakeExecutor:
    """Implements the Executor protocol; records every call; behaviour per step name."""

    def __init__(self, default: Behaviour, *, problems: list[str] | None = None) -> None:
        self.default = default
        self.behaviours: dict[str, Behaviour] = {}
        self.calls: list[JobContext] = []
        self._problems = problems or []
        self._lock = threading.Lock()

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        return list(self._problems)

    def run(self, context: JobContext) -> dict[str, Any]:
        with self._lock:
            self.calls.append(context)
        return self.behaviours.get(context.step_name, self.default)(context)

    def called(self, step_name: str) -> int:
        return sum(1 for call in self.calls if call.step_name == step_name)


def fake_executors() -> dict[str, FakeExecutor]:
    return {
        "Processing": FakeExecutor(_processing_properties),
        "Training": FakeExecutor(_training_properties),
        "RegisterModel": FakeExecutor(lambda c: {"ModelPackageArn": "arn:local:package/1"}),
    }


def step_types_with(executors: Mapping[str, FakeExecutor]) -> dict[str, StepType]:
    """The real table with ``executors`` in place of their step types' own, and no other job step type."""
    kept = {name: declared for name, declared in STEP_TYPES.items() if declared.executor is None}
    return {**kept, **{name: replace(STEP_TYPES[name], executor=fake) for name, fake in executors.items()}}


class Harness:
    """An engine over a temporary home with fake executors, collecting its events."""

    def __init__(self, home: Path, max_parallel_steps: int = 2) -> None:
        self.settings = Settings(home=home, input_data=None, max_parallel_steps=max_parallel_steps)
        self.store = ObjectStore(self.settings.store_root)
        self.executors = fake_executors()
        self.step_types = step_types_with(self.executors)
        self.events: list[Event] = []
        self.sleeps: list[float] = []
        self.engine = Engine(
            self.settings,
            step_types=self.step_types,
            store=self.store,
            registry=None,
            on_event=self.events.append,
            sleep=self.sleeps.append,
        )

    def calls(self) -> int:
        return sum(len(executor.calls) for executor in self.executors.values())

    def write_json(self, uri: str, value: Any) -> None:
        self.store.put_bytes(uri, json.dumps(value).encode())


def get(text: str) -> dict[str, str]:
    return {"Get": text}


def join(on: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def processing(
    name: str, outputs: tuple[str, ...] = ("out",), inputs: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    arguments = {
        "AppSpecification": {"ImageUri": "image", "ContainerArguments": extra.pop("container_arguments", [])},
        "ProcessingInputs": [
            {"InputName": key, "S3Input": {"S3Uri": uri, "LocalPath": f"/opt/ml/processing/{key}"}}
            for key, uri in (inputs or {}).items()
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": out,
                    "S3Output": {"S3Uri": join("/", "s3://bucket", get("Execution.PipelineExecutionId"), name, out)},
                }
                for out in outputs
            ]
        },
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **extra}


def training(name: str, train_uri: Any, **extra: Any) -> dict[str, Any]:
    arguments = {
        "AlgorithmSpecification": {"TrainingImage": "xgboost"},
        "HyperParameters": extra.pop("hyperparameters", {"num_round": "5"}),
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": train_uri}}}],
        "OutputDataConfig": {"S3OutputPath": join("/", "s3://bucket", get("Execution.PipelineExecutionId"), "model")},
    }
    return {"Name": name, "Type": "Training", "Arguments": arguments, **extra}


def condition(
    name: str, conditions: list[dict[str, Any]], if_steps: list[Any], else_steps: list[Any]
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {"Conditions": conditions, "IfSteps": if_steps, "ElseSteps": else_steps},
    }


def fail(name: str, message: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": message}}


def definition(steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": parameters or [], "Steps": steps}


def parameter(name: str, kind: str, default: Any) -> dict[str, Any]:
    return {"Name": name, "Type": kind, "DefaultValue": default}
