"""An endpoint's data-capture files -> the CSV rows the endpoint received.

Capture files (``showcase.serving.capture``) hold one JSON record per line; each record's
``captureData.endpointInput`` carries the request body as ``data`` with its ``encoding`` (``CSV``, ``JSON``
or ``BASE64``) and ``observedContentType``. Every line of a ``text/csv`` body is one record of the
dataset, as Model Monitor reads captured CSV requests. Lines that are not such records are counted by
reason, with the first few places they occur, and never stop a run.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from showcase.clock import timestamp
from showcase.store import ObjectStore, join_uri, split_uri

VARIANT = "AllTraffic"
MAX_EXAMPLES = 5


@dataclass
class CaptureScan:
    """What reading the captures found, besides the rows."""

    prefix: str
    files: int = 0
    records: int = 0
    """Capture records (lines) read in the time window."""
    rows: int = 0
    """CSV rows they held: the dataset's records."""
    malformed: Counter[str] = field(default_factory=Counter)
    """Lines that are not usable capture records, by reason."""
    examples: list[str] = field(default_factory=list)
    """The first few malformed lines, as ``<object key>:<line>: <reason>``."""

    @property
    def malformed_count(self) -> int:
        return sum(self.malformed.values())

    def refuse(self, where: str, reason: str) -> None:
        self.malformed[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")


def capture_prefix(destination_uri: str, endpoint_name: str, variant: str = VARIANT) -> str:
    bucket, prefix = split_uri(destination_uri, prefix=True)
    parts = [part for part in (prefix.strip("/"), endpoint_name, variant) if part]
    return join_uri(bucket, "/".join(parts) + "/")


def inference_time(when: datetime) -> str:
    """``inferenceTime``'s own format, which sorts as text: 2026-01-02T03:04:05.678Z."""
    return timestamp(when, "milliseconds", zulu=True)


def read_rows(
    store: ObjectStore, scan: CaptureScan, since: datetime | None = None, until: datetime | None = None
) -> Iterator[str]:
    """Yield every CSV row captured in [since, until), counting what was read into ``scan``."""
    low = inference_time(since) if since else ""
    high = inference_time(until) if until else "~"
    for uri in store.list(scan.prefix):
        if not in_window(uri, scan.prefix, low, high):
            continue
        scan.files += 1
        yield from _rows_of_file(store.path_of(uri), split_uri(uri)[1], scan, low, high)


def in_window(uri: str, prefix: str, low: str, high: str) -> bool:
    """Whether a file under ``prefix/yyyy/mm/dd/hh/`` may hold times in [low, high] (one outside that layout may)."""
    hour = _hour_of(uri, prefix)
    return hour is None or not (hour[:13] + ":59:59.999Z" < low or hour > high)


def _hour_of(uri: str, prefix: str) -> str | None:
    """``yyyy/mm/dd/hh/<file>`` -> ``yyyy-mm-ddThh:00:00.000Z`` (None for a key outside that layout)."""
    parts = uri[len(prefix) :].split("/")
    if len(parts) != 5 or not all(part.isdigit() for part in parts[:4]):
        return None
    year, month, day, hour = parts[:4]
    return f"{year}-{month}-{day}T{hour}:00:00.000Z"


def _rows_of_file(path: Path, key: str, scan: CaptureScan, low: str, high: str) -> Iterator[str]:
    with path.open("rb") as handle:
        number = 0
        while batch := handle.readlines(_BATCH_BYTES):
            first, number = number + 1, number + len(batch)
            yield from _rows_of_batch(batch, first, key, scan, low, high)


_BATCH_BYTES = 4 << 20


def _rows_of_batch(lines: list[bytes], first: int, key: str, scan: CaptureScan, low: str, high: str) -> Iterator[str]:
    """One JSON parse for the whole batch when every line is JSON (the common case), else line by line."""
    try:
        records = json.loads(b"[" + b",".join(lines) + b"]")
    except (json.JSONDecodeError, UnicodeDecodeError):
        records = None
    for offset, line in enumerate(lines):
        if records is not None:
            record = records[offset]
        elif not line.strip():
            continue
        else:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                scan.refuse(f"{key}:{first + offset}", "not a JSON line")
                continue
        try:
            endpoint_input = record["captureData"]["endpointInput"]
            when = record["eventMetadata"]["inferenceTime"]
            data, encoding = endpoint_input["data"], endpoint_input.get("encoding", "CSV")
            content_type = endpoint_input.get("observedContentType", "text/csv")
        except (KeyError, TypeError):
            scan.refuse(
                f"{key}:{first + offset}", "not a capture record (no captureData.endpointInput.data or inferenceTime)"
            )
            continue
        if not isinstance(when, str) or not low <= when < high:
            continue
        scan.records += 1
        text = _csv_text(data, encoding, str(content_type))
        if text is None:
            scan.refuse(f"{key}:{first + offset}", f"the request is {content_type} ({encoding}), not text/csv")
            continue
        if "\n" not in text:
            if text and text != "\r":
                scan.rows += 1
                yield text.rstrip("\r")
            continue
        for row in text.split("\n"):
            row = row.rstrip("\r")
            if row:
                scan.rows += 1
                yield row


def _csv_text(data: object, encoding: object, content_type: str) -> str | None:
    if content_type.split(";")[0].strip().lower() != "text/csv" or not isinstance(data, str):
        return None
    if encoding == "CSV":
        return data
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None
