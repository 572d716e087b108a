"""Data capture: sampled requests and their responses as JSON Lines, in SageMaker's capture record format.

Each record is one line::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                        "data": "...", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<the caller's>",
                       "inferenceTime": "2026-01-02T03:04:05.678Z"},
     "eventVersion": "0"}

``inferenceId`` is there when the caller sent ``X-Amzn-SageMaker-Inference-Id`` (InvokeEndpoint's InferenceId):
Model Monitor joins ground truth on it, else on ``eventId``.

``encoding`` is ``CSV`` or ``JSON`` for those media types (``data`` is then the text itself) and ``BASE64``
otherwise. Files land in the object store at
``<DataCaptureS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` (UTC); each worker
appends to its own file per variant, one ``write`` per whole line, and starts a new file each hour. A shadow
variant's answers are captured the same way, under its own name.

Sampling is counter-based per worker, so it is exact and testable: of a worker's first ``n`` successful
invocations, ``floor(n * SamplingPercentage / 100)`` are captured (100 captures all, 0 none, 50 every second).
Only invocations that returned predictions are captured; refused requests are not.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import datetime
from pathlib import Path

from showcase import clock
from showcase.serving.deployment import VARIANT_NAME, CaptureConfig
from showcase.store import ObjectStore, join_uri, split_uri


def _encoding(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        return "CSV"
    if kind in ("application/json", "application/jsonlines"):
        return "JSON"
    return "BASE64"


def _payload(content_type: str, data: bytes) -> dict[str, str]:
    encoding = _encoding(content_type)
    if encoding != "BASE64":
        try:
            return {"data": data.decode("utf-8"), "encoding": encoding}
        except UnicodeDecodeError:
            pass
    return {"data": base64.b64encode(data).decode("ascii"), "encoding": "BASE64"}


def capture_record(
    request_type: str,
    request: bytes,
    response_type: str,
    response: bytes,
    when: datetime,
    inference_id: str | None = None,
) -> dict[str, object]:
    metadata = {"eventId": str(uuid.uuid4())}
    if inference_id:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = clock.timestamp(when, "milliseconds", zulu=True)
    return {
        "captureData": {
            "endpointInput": {"observedContentType": request_type, "mode": "INPUT", **_payload(request_type, request)},
            "endpointOutput": {
                "observedContentType": response_type,
                "mode": "OUTPUT",
                **_payload(response_type, response),
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


class Sampler:
    """Counter-based sampling: the n-th call says yes when floor(n*p/100) grows."""

    def __init__(self, percentage: int) -> None:
        self.percentage = percentage
        self.count = 0

    def __call__(self) -> bool:
        self.count += 1
        return (self.count * self.percentage) // 100 > ((self.count - 1) * self.percentage) // 100


class CaptureWriter:
    """One worker's capture files for one variant of an endpoint, one file per hour."""

    def __init__(
        self, store: ObjectStore, config: CaptureConfig, endpoint_name: str, variant_name: str = VARIANT_NAME
    ) -> None:
        self.store = store
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.sample = Sampler(config.sampling_percentage if config.enabled else 0)
        bucket, prefix = split_uri(config.destination_uri, prefix=True)
        self._bucket, self._prefix = bucket, prefix.strip("/")
        self._hour: str | None = None
        self._fd: int | None = None
        self.files: list[str] = []

    def maybe_capture(
        self, request_type: str, request: bytes, response_type: str, response: bytes, inference_id: str | None = None
    ) -> bool:
        if not self.sample():
            return False
        now = clock.now()
        record = capture_record(request_type, request, response_type, response, now, inference_id)
        line = json.dumps(record) + "\n"
        os.write(self._file_for(now), line.encode("utf-8"))
        return True

    def _file_for(self, now: datetime) -> int:
        hour = now.strftime("%Y/%m/%d/%H")
        if self._fd is None or hour != self._hour:
            self.close()
            name = f"{now.strftime('%M-%S')}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            parts = [p for p in (self._prefix, self.endpoint_name, self.variant_name, hour, name) if p]
            uri = join_uri(self._bucket, "/".join(parts))
            path: Path = self.store.path_of(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._hour = hour
            self.files.append(uri)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
