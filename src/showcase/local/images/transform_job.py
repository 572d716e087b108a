"""The batch transform job, inside its own process: the endpoint's model loading and codec over staged objects.

``run(ROOT)`` reads ``input/config/transform.json`` (a ``Plan`` and the objects, written by the runner), loads
``model/xgboost-model`` as the endpoint does (``showcase.serving.model.load_model``; a pickle only when the plan
carries the runner's permission, ``Unpickle``), transforms each staged object ``input/data/transform/<n>`` into
``output/data/<n>.out`` and exits 0 (the containers before the last, of an inference pipeline, staged under
``containers/<n>/model``, run first, in sequence: ``showcase.serving.containers``); the runner uploads them once
every object is done. A failure is written to ``output/message`` (``ClientError: <object>: <why>`` for a record
the model cannot answer), and the job exits 1.

- Records: ``SplitType`` ``Line``: one per non-blank line; ``None``: the object is one record.
- Mini-batches: ``MultiRecord`` (as many records as fit in ``MaxPayloadInMB``) or ``SingleRecord``; a record
  larger than ``MaxPayloadInMB`` fails the job, as on SageMaker.
- ``AssembleWith Line`` ends each record's output with a newline; ``None`` concatenates the responses.
- ``DataProcessing``: ``InputFilter`` on each record (a CSV record is the array of its fields), ``JoinSource
  Input`` (CSV output: the fields appended to the input's; JSON Lines output: ``{"SageMakerInput": [...],
  "SageMakerOutput": {...}}``), then ``OutputFilter``; JSONPath as ``jsonpath`` documents.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showcase.local.images import jsonpath
from showcase.local.images.job import failed, read_json

if TYPE_CHECKING:
    from showcase.serving.contract import ScriptedContainer
    from showcase.serving.model import LoadedModel

MEBIBYTE = 1024 * 1024
CONFIG = "input/config/transform.json"
INPUT = "input/data/transform"
OUTPUT = "output/data"


@dataclass(frozen=True)
class Plan:
    """A transform job's settings, checked and defaulted by the runner; the JSONPath filters as written."""

    content_type: str
    accept: str
    split_line: bool
    single_record: bool
    max_payload: int
    assemble_line: bool
    input_filter: str | None
    output_filter: str | None
    join: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Filters:
    def __init__(self, plan: Plan) -> None:
        self.input = jsonpath.parse(plan.input_filter) if plan.input_filter else None
        self.output = jsonpath.parse(plan.output_filter) if plan.output_filter else None


def run(root: Path) -> int:
    """The job: transform every staged object under ``root``; its exit code."""
    message = root / "output" / "message"
    try:
        from showcase.serving import codec
        from showcase.serving.errors import ModelLoadError
        from showcase.serving.model import load_model

        config = read_json(root / CONFIG)
        plan = Plan(**config["Plan"])
        try:
            model = load_model(
                root / "model", model_package_arn=config["ModelDataUrl"], image=config["Image"],
                unpickle=config["Unpickle"] is True,
            )  # fmt: skip
        except ModelLoadError as exc:
            return failed(message, f"model {config['ModelName']}: {exc}")
        print(f"loaded model {config['ModelName']} from {config['ModelDataUrl']} ({model.num_features} features)")
        from showcase.serving.containers import FrontSpec, load_front

        specs = [FrontSpec.from_json(raw) for raw in config.get("Front", [])]
        try:
            front = load_front(replace(spec, model_dir=str(root / spec.model_dir)) for spec in specs)
        except ModelLoadError as exc:
            return failed(message, f"model {config['ModelName']}: {exc}")
        (root / OUTPUT).mkdir(parents=True, exist_ok=True)
        for number, uri in enumerate(config["Objects"]):
            data = (root / INPUT / str(number)).read_bytes()
            try:
                result = transform(data, plan, model, front)
            except codec.RequestError as exc:
                return failed(message, f"ClientError: {uri}: {exc.message}")
            (root / OUTPUT / f"{number}.out").write_bytes(result)
            print(f"TransformJob {config['JobName']}: transformed {uri}", flush=True)
    except Exception as exc:  # the container's catch-all
        traceback.print_exc()
        return failed(message, f"AlgorithmError: {type(exc).__name__}: {exc}")
    return 0


def transform(data: bytes, plan: Plan, model: LoadedModel, front: Sequence[ScriptedContainer] = ()) -> bytes:
    from showcase.serving import codec

    filters = _Filters(plan)
    records = _records(data, plan)
    out = bytearray()
    first = 1
    for batch in _batches(records, plan):
        try:
            results = _predict(batch, plan, filters, model, front)
        except codec.RequestError as exc:
            where = (
                f"record {first}" if len(batch) == 1 else f"the mini-batch of records {first}-{first + len(batch) - 1}"
            )
            raise codec.RequestError(exc.status, f"{where}: {exc.message}") from exc
        for result in results:
            out += result + (b"\n" if plan.assemble_line and not result.endswith(b"\n") else b"")
        first += len(batch)
    return bytes(out)


def _records(data: bytes, plan: Plan) -> list[bytes]:
    if not plan.split_line:
        return [data] if data.strip() else []
    return [line for line in data.split(b"\n") if line.strip()]


def _batches(records: list[bytes], plan: Plan) -> Iterator[list[bytes]]:
    from showcase.serving import codec

    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, start=1):
        if len(record) > plan.max_payload:
            raise codec.RequestError(
                413, f"record {number} is {len(record)} bytes, beyond MaxPayloadInMB ({plan.max_payload // MEBIBYTE})"
            )
        if batch and (plan.single_record or size + len(record) + 1 > plan.max_payload):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield batch


def _predict(
    batch: list[bytes], plan: Plan, filters: _Filters, model: LoadedModel, front: Sequence[ScriptedContainer]
) -> list[bytes]:
    """One request's worth of records -> the outputs to write (one per record when they can be told apart)."""
    from showcase.serving import codec
    from showcase.serving.containers import through

    fields = [_fields(record) for record in batch] if filters.input or plan.join else []
    sent = [_csv_line(_as_list(filters.input.apply(f))) for f in fields] if filters.input else batch
    body, content_type = through(front, b"\n".join(sent), plan.content_type)
    rows = codec.decode(body, codec.content_type_of(content_type), model.num_features)
    response = codec.encode(model.predict(rows), plan.accept)
    if not (plan.join or filters.output):
        return [response]
    lines = [line for line in response.split(b"\n") if line]
    if len(lines) != len(batch):
        raise codec.RequestError(500, f"the model answered {len(lines)} lines for {len(batch)} records")
    results = []
    for number, line in enumerate(lines):
        csv = plan.accept == codec.CSV
        answer: Any = line.decode().split(",") if csv else json.loads(line)
        if plan.join:
            answer = (
                [*fields[number], *answer] if csv else {"SageMakerInput": fields[number], "SageMakerOutput": answer}
            )
        if filters.output:
            answer = filters.output.apply(answer)
        results.append(_csv_line(_as_list(answer)) if csv else json.dumps(answer).encode())
    return results


def _fields(record: bytes) -> list[str]:
    return [field.strip() for field in record.decode("utf-8", errors="strict").strip().split(",")]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _csv_line(values: list[Any]) -> bytes:
    return ",".join(str(value) for value in values).encode()
