"""The RegisterModel executor: one model package in the local registry, with its metrics and lineage.

The metrics document (``ModelMetrics.ModelQuality.Statistics.S3Uri``) and every container's
``ModelDataUrl`` must exist in the object store. The lineage (``showcase.local.steps.lineage``) is
built before anything is written; the package, its version number, its metrics, its lineage and (when
missing) its group are then written in one registry transaction, so a failure leaves nothing
half-registered. Never cached: SageMaker does not cache registrations either.
"""

from __future__ import annotations

import json
from typing import Any

from showcase.errors import RegistryError
from showcase.local.jobs import JobContext
from showcase.local.steps.common import fail, refuse
from showcase.local.steps.lineage import lineage
from showcase.local.steptype import AwsStep, StepType
from showcase.store import StoreError


class RegisterModelExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        if "ModelPackageGroupName" not in arguments:
            return ["a RegisterModel step needs ModelPackageGroupName (unversioned packages are not supported)"]
        spec = arguments.get("InferenceSpecification")
        if not isinstance(spec, dict) or not spec.get("Containers"):
            return ["a RegisterModel step needs InferenceSpecification.Containers"]
        return []

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = dict(context.arguments)
        refuse(context, self.problems(arguments))
        metrics = _metrics(context, arguments)
        model_urls = []
        for container in arguments["InferenceSpecification"]["Containers"]:
            url = container.get("ModelDataUrl")
            if url is not None:
                model_urls.append(url)
                if not _exists(context, url):
                    raise fail(context, f"ModelDataUrl {url} does not exist in the object store")
        document = lineage(context, {"ModelDataUrl": model_urls[0] if len(model_urls) == 1 else model_urls})
        try:
            response = context.registry.create_model_package(**arguments, metrics=metrics, lineage=document)
        except RegistryError as exc:
            raise fail(context, f"the model registry refused the model package: {exc}") from exc
        arn = response["ModelPackageArn"]
        context.log.write(f"registered {arn} ({arguments.get('ModelApprovalStatus', 'PendingManualApproval')})\n")
        for artifact in document["Artifacts"]:
            context.log.write(f"  {artifact['Field']}: {artifact['Uri']} sha256 {artifact['Sha256']}\n")
        return {"ModelPackageArn": arn}


def _metrics(context: JobContext, arguments: dict[str, Any]) -> dict[str, Any] | None:
    statistics = ((arguments.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics")
    if not statistics:
        return None
    uri = statistics.get("S3Uri")
    try:
        raw = context.store.get_bytes(uri)
    except StoreError as exc:
        raise fail(context, f"the metrics document ModelMetrics.ModelQuality.Statistics.S3Uri: {exc}") from exc
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(context, f"the metrics document {uri} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise fail(context, f"the metrics document {uri} must be a JSON object, got {type(document).__name__}")
    return document


def _exists(context: JobContext, uri: object) -> bool:
    if not isinstance(uri, str):
        return False
    try:
        return context.store.exists(uri)
    except StoreError:
        return False


STEP = StepType("RegisterModel", AwsStep("RegisterModel", "ModelPackageArn"), executor=RegisterModelExecutor())
