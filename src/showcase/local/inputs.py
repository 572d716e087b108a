"""Which objects a definition reads from S3 before any step has written them, and which of those are missing.

A definition built elsewhere (``showcase-local start --definition``) names code and data in S3 that the local
object store may not hold. They are checked before anything runs, all in one message, as SageMaker would
fail each job on its own when it starts. Checked: the locations each step type declares it reads
(``StepType.inputs``: ``ProcessingInputs[].S3Input.S3Uri``, ``InputDataConfig[].DataSource.S3DataSource.S3Uri``,
the script-mode ``sagemaker_submit_directory``, ...), when they are plain URIs or pipeline parameters. A URI under
a location another step of the definition writes (``StepType.outputs``: ``ProcessingOutputConfig``,
``OutputDataConfig.S3OutputPath``, ...) is produced during the run, not read before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from showcase.local.definition import Definition
from showcase.store import ObjectStore, StoreError


def missing_inputs(definition: Definition, parameters: Mapping[str, Any], store: ObjectStore) -> list[str]:
    """``"<step> <field>: <uri>"`` for every input the store holds nothing under; empty when all are there."""
    produced = [uri for _, _, uri in _located(definition, parameters, outputs=True)]
    missing = []
    for step, what, uri in _located(definition, parameters, outputs=False):
        if any(uri == out or uri.startswith(out.rstrip("/") + "/") for out in produced):
            continue
        try:
            present = bool(store.list(uri))
        except StoreError:
            continue  # a malformed URI: the step fails on it with its own message
        if not present:
            missing.append(f"{step} {what}: {uri}")
    return missing


def _located(definition: Definition, parameters: Mapping[str, Any], *, outputs: bool) -> Iterator[tuple[str, str, str]]:
    """``(step, where, uri)`` for each S3 URI the steps' declared inputs (or outputs) name."""
    for spec in definition.steps.values():
        for location in spec.step_type.outputs if outputs else spec.step_type.inputs:
            for what, value in location.find(spec.arguments):
                uri = _value(value, parameters)
                if uri:
                    yield spec.name, what, uri


def _value(value: Any, parameters: Mapping[str, Any]) -> str | None:
    if isinstance(value, dict) and set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
        value = parameters.get(str(value["Get"]).removeprefix("Parameters."))
    return value if isinstance(value, str) and value.startswith("s3://") else None
