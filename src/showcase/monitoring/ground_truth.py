"""Ground truth merged with an endpoint's captured predictions, as Model Monitor's model-quality merge does.

Ground truth is uploaded as JSON Lines under ``<GroundTruthS3Uri>/yyyy/mm/dd/hh/`` (the hour the labels were
collected), one record per inference::

    {"groundTruthData": {"data": "12", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"}, "eventVersion": "0"}

A label's ``eventId`` names the inference it belongs to: the capture record whose ``eventMetadata.inferenceId``
(what the caller sent as ``X-Amzn-SageMaker-Inference-Id``) equals it, or, for a capture without one, whose
``eventId`` does. A request of several CSV rows is several predictions; its ground truth then holds as many labels,
one per line, paired in order. The prediction is column ``inference_attribute`` of the answer (``0``: the built-in
XGBoost container answers one number per line), or the ``score`` of a JSON answer.

Ground truth is read from the hour of the window's start on (labels come after the inference); captures from the
window, by ``inferenceTime``. What cannot be paired is counted by reason, with the first few places, and never stops
a run: captures without a label, labels without a capture, and malformed lines or values.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from showcase.monitoring.captures import MAX_EXAMPLES, in_window, timestamp
from showcase.store import ObjectStore, StoreError, split_uri

NO_LABEL = "captured inferences without ground truth"
NO_CAPTURE = "ground truth without a captured inference"


@dataclass
class Merge:
    """What the merge paired, and what it could not."""

    actual: list[float] = field(default_factory=list)
    predicted: list[float] = field(default_factory=list)
    captures: int = 0
    """Capture records read in the window."""
    labels: int = 0
    """Ground-truth records read."""
    matched: int = 0
    """Capture records paired with their ground truth."""
    unpaired: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def refuse(self, where: str, reason: str) -> None:
        self.unpaired[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.actual, dtype=np.float64), np.asarray(self.predicted, dtype=np.float64)


@dataclass(frozen=True)
class _Captured:
    key: str
    where: str
    predictions: list[float]


def _lines(store: ObjectStore, uri: str) -> Iterator[tuple[int, bytes]]:
    try:
        path = store.path_of(uri)
        with path.open("rb") as handle:
            yield from enumerate(handle, start=1)
    except (OSError, StoreError):
        return


def _text(payload: Any) -> tuple[str, str] | None:
    """``(text, content type)`` of a capture payload or ground-truth data, or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        return None
    data, encoding = payload["data"], payload.get("encoding", "CSV")
    content_type = str(payload.get("observedContentType", "text/csv")).split(";")[0].strip().lower()
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif encoding not in ("CSV", "JSON"):
        return None
    return data, content_type


def _numbers(text: str, content_type: str, column: int) -> list[float] | None:
    """The predictions (or labels) a CSV or JSON text holds, one per row; None when one is not a number."""
    try:
        if content_type in ("application/json", "application/jsonlines"):
            documents = [json.loads(line) for line in text.splitlines() if line.strip()]
            if len(documents) == 1 and isinstance(documents[0], dict) and "predictions" in documents[0]:
                documents = documents[0]["predictions"]
            values = [float(d["score"]) if isinstance(d, dict) else float(d) for d in documents]
        else:
            values = [float(line.split(",")[column]) for line in text.splitlines() if line.strip()]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return values if values and all(np.isfinite(values)) else None


def read_captures(
    store: ObjectStore, prefixes: Iterable[str], since: datetime | None, until: datetime, column: int, merge: Merge
) -> dict[str, _Captured]:
    """The captured predictions in [since, until), by the id ground truth names them with."""
    low, high = (timestamp(since) if since else ""), timestamp(until)
    found: dict[str, _Captured] = {}
    for prefix in prefixes:
        for uri in store.list(prefix):
            if not in_window(uri, prefix, low, high):
                continue
            key = split_uri(uri)[1]
            for number, line in _lines(store, uri):
                where = f"{key}:{number}"
                try:
                    record = json.loads(line)
                    metadata, output = record["eventMetadata"], record["captureData"]["endpointOutput"]
                    when = metadata["inferenceTime"]
                except (ValueError, KeyError, TypeError):
                    if line.strip():
                        merge.refuse(where, "not a capture record")
                    continue
                if not isinstance(when, str) or not low <= when < high:
                    continue
                merge.captures += 1
                text = _text(output)
                predictions = _numbers(*text, column) if text else None
                if predictions is None:
                    merge.refuse(where, f"the captured answer holds no number in column {column}")
                    continue
                ident = str(metadata.get("inferenceId") or metadata.get("eventId") or "")
                found[ident] = _Captured(ident, where, predictions)
    return found


def merge_ground_truth(
    store: ObjectStore,
    ground_truth_uri: str,
    capture_prefixes: Iterable[str],
    *,
    since: datetime | None,
    until: datetime,
    inference_attribute: int = 0,
) -> Merge:
    """Pair every captured prediction of the window with its label."""
    merge = Merge()
    captured = read_captures(store, capture_prefixes, since, until, inference_attribute, merge)
    prefix = ground_truth_uri.rstrip("/") + "/"
    low = timestamp(since) if since else ""
    paired: set[str] = set()
    for uri in store.list(prefix):
        if not in_window(uri, prefix, low, "~"):
            continue
        key = split_uri(uri)[1]
        for number, line in _lines(store, uri):
            if not line.strip():
                continue
            where = f"{key}:{number}"
            try:
                record = json.loads(line)
                ident = str(record["eventMetadata"]["eventId"])
                data = record["groundTruthData"]
            except (ValueError, KeyError, TypeError):
                merge.refuse(where, "not a ground-truth record (groundTruthData, eventMetadata.eventId)")
                continue
            merge.labels += 1
            capture = captured.get(ident)
            if capture is None:
                merge.unpaired[NO_CAPTURE] += 1
                continue
            text = _text({"observedContentType": "text/csv", **data}) if isinstance(data, dict) else None
            labels = _numbers(text[0], "text/csv", 0) if text else None
            if labels is None or len(labels) != len(capture.predictions):
                count = "no number" if labels is None else f"{len(labels)} label(s)"
                merge.refuse(where, f"the ground truth holds {count} for {len(capture.predictions)} prediction(s)")
                continue
            if ident in paired:
                continue  # a label uploaded twice counts once
            paired.add(ident)
            merge.matched += 1
            merge.actual += labels
            merge.predicted += capture.predictions
    unlabelled = len(captured) - len(paired)
    if unlabelled:
        merge.unpaired[NO_LABEL] += unlabelled
    return merge


def ground_truth_record(event_id: str, label: float | str) -> dict[str, Any]:
    """One line of ground truth for an inference, in Model Monitor's merge format."""
    return {
        "groundTruthData": {"data": str(label), "encoding": "CSV"},
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }
