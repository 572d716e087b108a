"""Which objects a definition reads from S3 before any step has written them, and which of those are missing.

A definition built elsewhere (``showcase-local start --definition``) names code and data in S3 that the local
object store may not hold. They are checked before anything runs, all in one message, as SageMaker would
fail each job on its own when it starts. Checked: ``ProcessingInputs[].S3Input.S3Uri``,
``InputDataConfig[].DataSource.S3DataSource.S3Uri`` and the script-mode ``sagemaker_submit_directory``, when
they are plain URIs or pipeline parameters. A URI under an output another step of the definition writes
(``ProcessingOutputConfig``, ``OutputDataConfig.S3OutputPath``) is produced during the run, not read before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from showcase.local.definition import Definition
from showcase.local.steps.training_env import decode_hyperparameter
from showcase.store import ObjectStore, StoreError


def missing_inputs(definition: Definition, parameters: Mapping[str, Any], store: ObjectStore) -> list[str]:
    """``"<step> <field>: <uri>"`` for every input the store holds nothing under; empty when all are there."""
    produced = [uri for spec in definition.steps.values() for uri in _outputs(spec.arguments, parameters)]
    missing = []
    for step, what, uri in _inputs(definition, parameters):
        if any(uri == out or uri.startswith(out.rstrip("/") + "/") for out in produced):
            continue
        try:
            present = bool(store.list(uri))
        except StoreError:
            continue  # a malformed URI: the step fails on it with its own message
        if not present:
            missing.append(f"{step} {what}: {uri}")
    return missing


def _value(value: Any, parameters: Mapping[str, Any]) -> str | None:
    if isinstance(value, dict) and set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
        value = parameters.get(str(value["Get"]).removeprefix("Parameters."))
    return value if isinstance(value, str) and value.startswith("s3://") else None


def _inputs(definition: Definition, parameters: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    for spec in definition.steps.values():
        arguments = spec.arguments if isinstance(spec.arguments, dict) else {}
        for index, item in enumerate(_list(arguments.get("ProcessingInputs"))):
            uri = _value(_dig(item, "S3Input", "S3Uri"), parameters)
            if uri:
                yield spec.name, f"ProcessingInputs[{index}]", uri
        for index, item in enumerate(_list(arguments.get("InputDataConfig"))):
            uri = _value(_dig(item, "DataSource", "S3DataSource", "S3Uri"), parameters)
            if uri:
                yield spec.name, f"InputDataConfig[{index}] ({_dig(item, 'ChannelName')})", uri
        submit = decode_hyperparameter(_dig(arguments, "HyperParameters", "sagemaker_submit_directory"))
        uri = _value(submit, parameters)
        if uri:
            yield spec.name, "HyperParameters.sagemaker_submit_directory", uri


def _outputs(arguments: Any, parameters: Mapping[str, Any]) -> Iterator[str]:
    if not isinstance(arguments, dict):
        return
    for item in _list(_dig(arguments, "ProcessingOutputConfig", "Outputs")):
        uri = _value(_dig(item, "S3Output", "S3Uri"), parameters)
        if uri:
            yield uri
    uri = _value(_dig(arguments, "OutputDataConfig", "S3OutputPath"), parameters)
    if uri:
        yield uri


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
