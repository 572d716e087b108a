"""Inference pipelines: a model of several containers, run in sequence (``Containers`` with Mode ``Serial``).

SageMaker calls the containers as a sequence of HTTP requests: each container's response body, with its
Content-Type, is the next one's request, and the last one's response goes to the client. Here every container
runs in the same worker (or Transform job) process, one after the other, with no HTTP hop, but each keeps the
contract: bytes and a content type in, bytes and a content type out, its own environment and its own model
directory. Served locally: any number of scikit-learn containers (``contract``: the user's inference script)
followed by one built-in XGBoost container, the last, which answers the client's Accept. A container before the
last is called with no Accept, so it answers in its ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (give it
``text/csv`` in front of XGBoost). ``InferenceExecutionConfig.Mode`` ``Direct`` (one container per request, named
by ``X-Amzn-SageMaker-Target-Container-Hostname``) is refused when the model is created or deployed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showcase.serving.errors import ModelLoadError

if TYPE_CHECKING:
    from showcase.serving.contract import ScriptedContainer

IMAGE_REPOSITORY = "sagemaker-scikit-learn"
"""The image whose containers run before the last one locally: the scikit-learn serving contract (``contract``)."""
MAX_CONTAINERS = 15
SERVED_LAST = "sagemaker-xgboost"
_REPOSITORY = re.compile(r"^[^/]+\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)")


@dataclass(frozen=True)
class FrontSpec:
    """A container before the last: where its model archive was extracted and its own environment."""

    label: str
    model_dir: str
    environment: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "model_dir": self.model_dir, "environment": dict(self.environment)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FrontSpec:
        return cls(str(raw["label"]), str(raw["model_dir"]), dict(raw.get("environment") or {}))


def repository(image: str) -> str:
    match = _REPOSITORY.match(image)
    return match.group("repo") if match else ""


def containers_problems(containers: Sequence[Any], execution: Any, where: str) -> list[str]:
    """Why these containers cannot run in sequence locally (empty when they can), checked before anything runs."""
    found: list[str] = []
    mode = execution.get("Mode", "Serial") if isinstance(execution, dict) else execution
    if execution is not None and mode != "Serial":
        found.append(
            f"{where}InferenceExecutionConfig.Mode {mode} is not served locally: Direct runs the one container "
            "X-Amzn-SageMaker-Target-Container-Hostname names; use Serial (the containers in sequence)"
        )
    if len(containers) > MAX_CONTAINERS:
        found.append(f"{where}Containers holds {len(containers)} containers; an inference pipeline has 2 to 15")
    named = [isinstance(c, dict) and "ContainerHostname" in c for c in containers]
    if any(named) and not all(named):
        found.append(f"{where}Containers: if any container has a ContainerHostname, all of them must")
    for index, container in enumerate(containers[:-1] if len(containers) > 1 else []):
        image = container.get("Image") if isinstance(container, dict) else None
        if isinstance(image, str) and repository(image) != IMAGE_REPOSITORY:
            found.append(
                f"{where}Containers[{index}] image {image} cannot run before another container locally "
                f"(served in front: {IMAGE_REPOSITORY}, with the scikit-learn serving contract)"
            )
        elif isinstance(container, dict) and "ModelDataUrl" not in container:
            found.append(f"{where}Containers[{index}] needs a ModelDataUrl: its archive holds code/ and the model")
    return found


def label_of(container: Mapping[str, Any], index: int) -> str:
    return str(container.get("ContainerHostname") or f"container {index + 1}")


def load_front(specs: Iterable[FrontSpec]) -> tuple[ScriptedContainer, ...]:
    """Import each container's script and load its model, in this (worker or job) process; raises ModelLoadError."""
    from showcase.serving.contract import load_container  # numpy, and user code: only where a container runs

    return tuple(load_container(Path(spec.model_dir), spec.environment, label=spec.label) for spec in specs)


def through(front: Sequence[ScriptedContainer], body: bytes, content_type: str) -> tuple[bytes, str]:
    """The request as the last container receives it: each container's response is the next one's request."""
    for container in front:
        body, content_type = container.answer(body, content_type, None)
    return body, content_type


def check_front_in_own_process(spec: FrontSpec, *, model_package_arn: str) -> None:
    """Load one container's script in a process of its own (this process never imports user code)."""
    environment = json.dumps(dict(spec.environment))
    command = [sys.executable, "-m", "showcase.serving.contract", spec.model_dir, environment, spec.label]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"loading it exited with code {done.returncode}"]
        raise ModelLoadError(f"{model_package_arn or spec.label}: {lines[-1]}", model_package_arn=model_package_arn)
