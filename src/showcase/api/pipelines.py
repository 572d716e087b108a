"""Pipelines: Create/Update/Describe/List/DeletePipeline, kept as ``<home>/pipelines/<PipelineName>.json``.

Each file holds what DescribePipeline answers: the definition (as sent, or read from the object store when the
SDK uploaded it to ``PipelineDefinitionS3Location``), role, description, times and version. The definition is
checked to be a JSON object here; StartPipelineExecution checks it whole against the local runtime.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.api import tags
from showcase.api.errors import not_found, validation
from showcase.api.listing import created_between, page, sorted_by, with_token
from showcase.api.state import Call, Handler, State
from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.local import list_executions
from showcase.local.records import execution_arn
from showcase.store import StoreError, join_uri

PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_PIPELINE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]*:[0-9]{12}:pipeline/(?P<name>[^/]+)$")
_LOCK = threading.Lock()
_KEPT = ("PipelineDisplayName", "PipelineDescription", "RoleArn", "ParallelismConfiguration")


def pipeline_arn(state: State, name: str) -> str:
    """The pipeline's ARN: the one the local runtime's execution ARNs start with."""
    settings = state.settings
    return execution_arn(name, "-", settings.region, settings.account).rpartition("/execution/")[0]


def _directory(state: State) -> Path:
    return state.settings.home / "pipelines"


def _file(state: State, name: str) -> Path:
    return _directory(state) / f"{check_name(name)}.json"


def check_name(name: str) -> str:
    if not PIPELINE_NAME.match(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at 'pipelineName' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"
        )
    return name


def _all_files_of(state: State) -> list[Path]:
    directory = _directory(state)
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def load(state: State, name_or_arn: str) -> dict[str, Any]:
    """The stored pipeline; ResourceNotFound when there is none by that name."""
    name = resolve_name(state, name_or_arn)
    path = _file(state, name)
    if not path.is_file():
        raise not_found(f"Pipeline '{pipeline_arn(state, name)}' does not exist.")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def resolve_name(state: State, name_or_arn: str) -> str:
    """The pipeline name a ``PipelineName`` parameter means: a name, or an ARN (whose name SageMaker lower-cases)."""
    match = _PIPELINE_ARN.match(name_or_arn)
    if not match:
        return check_name(name_or_arn)
    for path in _all_files_of(state):
        if path.stem.lower() == match.group("name"):
            return path.stem
    return check_name(match.group("name"))


def exists(state: State, name: str) -> bool:
    return _file(state, name).is_file()


def _definition(state: State, params: dict[str, Any]) -> str:
    """The definition text, inline or from the object store; ValidationException unless a JSON object."""
    inline, location = params.get("PipelineDefinition"), params.get("PipelineDefinitionS3Location")
    if (inline is None) == (location is None):
        raise validation("Exactly one of PipelineDefinition and PipelineDefinitionS3Location must be given")
    if location is not None:
        uri = join_uri(location["Bucket"], location["ObjectKey"])
        try:
            inline = state.store.get_bytes(uri).decode("utf-8")
        except (StoreError, UnicodeDecodeError) as exc:
            raise validation(f"PipelineDefinitionS3Location {uri}: {exc}") from None
    assert inline is not None
    try:
        document = json.loads(inline)
    except ValueError as exc:
        raise validation(f"PipelineDefinition is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise validation(f"PipelineDefinition must be a JSON object, got {type(document).__name__}")
    return str(inline)


def create_pipeline(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    name = check_name(params["PipelineName"])
    definition = _definition(state, params)
    with _LOCK:
        path = _file(state, name)
        existing = _same_name(state, name)
        if existing is not None:
            stored = json.loads(existing.read_text(encoding="utf-8"))
            if params.get("ClientRequestToken") and stored.get("ClientRequestToken") == params["ClientRequestToken"]:
                return {"PipelineArn": stored["PipelineArn"]}  # a retry of the same request
            raise validation(
                "Pipeline names must be unique within an AWS account and region. "
                f"Pipeline with name ({name}) already exists."
            )
        now = _now()
        document = {
            "PipelineName": name,
            "PipelineArn": pipeline_arn(state, name),
            "PipelineDefinition": definition,
            **{key: params[key] for key in _KEPT if params.get(key) is not None},
            "PipelineDisplayName": params.get("PipelineDisplayName") or name,
            "CreationTime": now,
            "LastModifiedTime": now,
            "PipelineVersionId": 1,
            "ClientRequestToken": params.get("ClientRequestToken"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, document)
    if params.get("Tags"):
        tags.add(state, document["PipelineArn"], params["Tags"])
    return {"PipelineArn": document["PipelineArn"]}


def _same_name(state: State, name: str) -> Path | None:
    """An existing pipeline whose name equals ``name`` but for case (SageMaker's ARNs lower-case names)."""
    for path in _all_files_of(state):
        if path.stem.lower() == name.lower():
            return path
    return None


def update_pipeline(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    with _LOCK:
        document = load(state, params["PipelineName"])
        if params.get("PipelineDefinition") is not None or params.get("PipelineDefinitionS3Location") is not None:
            document["PipelineDefinition"] = _definition(state, params)
        document.update({key: params[key] for key in _KEPT if params.get(key) is not None})
        document["LastModifiedTime"] = _now()
        document["PipelineVersionId"] = int(document.get("PipelineVersionId", 1)) + 1
        write_json_atomically(_file(state, document["PipelineName"]), document)
    return {"PipelineArn": document["PipelineArn"], "PipelineVersionId": document["PipelineVersionId"]}


def describe_pipeline(call: Call) -> dict[str, Any]:
    document = load(call.state, call.params["PipelineName"])
    version = call.params.get("PipelineVersionId")
    if version is not None and version != document.get("PipelineVersionId"):
        raise not_found(
            f"Pipeline version {version} of '{document['PipelineArn']}' is not kept: the local API keeps the newest "
            f"version ({document.get('PipelineVersionId')})"
        )
    last_run = _last_run(call.state, document["PipelineName"])
    answer = {key: value for key, value in document.items() if key != "ClientRequestToken"}
    answer.update(PipelineStatus="Active", CreatedBy={}, LastModifiedBy={})
    if last_run is not None:
        answer["LastRunTime"] = last_run
    return answer


def _last_run(state: State, name: str) -> datetime | None:
    starts = [record.start for record in list_executions(state.settings) if record.pipeline_name == name]
    return max(starts) if starts else None


def list_pipelines(call: Call) -> dict[str, Any]:
    params = call.params
    prefix = params.get("PipelineNamePrefix") or ""
    keep = created_between(params, "CreatedAfter", "CreatedBefore")
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in _all_files_of(call.state)]
    chosen = [d for d in documents if d["PipelineName"].startswith(prefix) and keep(_time(d["CreationTime"]))]
    ordered = sorted_by(
        chosen,
        params,
        {"Name": lambda d: d["PipelineName"], "CreationTime": lambda d: d["CreationTime"]},
        "CreationTime",
    )
    items, token = page(ordered, params, default=50)
    runs = {record.pipeline_name: record.start for record in reversed(list_executions(call.state.settings))}
    summaries = []
    for document in items:
        summary = {key: document[key] for key in ("PipelineArn", "PipelineName", "PipelineDisplayName", "RoleArn",
                                                  "CreationTime", "LastModifiedTime") if key in document}  # fmt: skip
        if document.get("PipelineDescription"):
            summary["PipelineDescription"] = document["PipelineDescription"]
        if document["PipelineName"] in runs:
            summary["LastExecutionTime"] = runs[document["PipelineName"]]
        summaries.append(summary)
    return with_token({"PipelineSummaries": summaries}, token)


def delete_pipeline(call: Call) -> dict[str, Any]:
    """Deleting a pipeline keeps its executions' records (``showcase list`` still shows them)."""
    with _LOCK:
        document = load(call.state, call.params["PipelineName"])
        _file(call.state, document["PipelineName"]).unlink(missing_ok=True)
    return {"PipelineArn": document["PipelineArn"]}


def _now() -> str:
    return timestamp()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


OPERATIONS: dict[str, Handler] = {
    "CreatePipeline": create_pipeline,
    "UpdatePipeline": update_pipeline,
    "DescribePipeline": describe_pipeline,
    "ListPipelines": list_pipelines,
    "DeletePipeline": delete_pipeline,
}
