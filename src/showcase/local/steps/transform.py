"""The Transform executor: a batch transform job with the local endpoint's model loading and codec.

The model is the record a Model step created (``ModelName``, read from the registry); its archive is
extracted and loaded by ``showcase.serving.model`` and every mini-batch goes through
``showcase.serving.codec`` (``decode``, ``encode``): a row gets the same answer here as from the endpoint.

- Input: every object under ``TransformInput.DataSource.S3DataSource.S3Uri`` (S3Prefix), split into records
  by ``SplitType`` (``Line``: one record per non-blank line; ``None``: the object is one record).
- Mini-batches: ``BatchStrategy`` ``MultiRecord`` (as many records as fit in ``MaxPayloadInMB``, default 6)
  or ``SingleRecord``; a record larger than ``MaxPayloadInMB`` fails the job, as on SageMaker.
- Output: one object ``<S3OutputPath>/<key relative to the input prefix>.out`` per input object, written
  only once every object has been transformed. ``AssembleWith Line`` ends each record's output with a
  newline; ``None`` concatenates the responses.
- ``DataProcessing``: ``InputFilter`` on each record (a CSV record is the array of its fields), ``JoinSource
  Input`` (CSV output: the fields appended to the input's; JSON Lines output: ``{"SageMakerInput": [...],
  "SageMakerOutput": {...}}``), then ``OutputFilter``; JSONPath as ``jsonpath`` documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from showcase.clock import timestamp
from showcase.errors import JobStopped, RegistryError
from showcase.local.jobs import JobContext
from showcase.local.steps import jsonpath
from showcase.local.steps.common import fail, host_path, is_expression, job_arn
from showcase.local.steps.standins import repository
from showcase.local.steptype import AwsStep, StepType
from showcase.names import MODEL_NAME
from showcase.serving.errors import ModelLoadError
from showcase.statuses import JobStatus
from showcase.store import StoreError

if TYPE_CHECKING:
    from types import ModuleType

    from showcase.serving.model import LoadedModel


def _codec() -> ModuleType:
    """The endpoint's codec, imported when a Transform step is checked or run: it brings numpy and pandas,
    which a run with no Transform step (or whose jobs are all cache hits) need not load."""
    from showcase.serving import codec

    return codec


MEBIBYTE = 1024 * 1024
DEFAULT_MAX_PAYLOAD_MB = 6
SERVED_IMAGES = frozenset({"sagemaker-xgboost"})
SPLIT_TYPES = ("None", "Line")
STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
SPLIT_ACCEPTS = ("text/csv", "application/jsonlines")  # the codec's CSV and JSONLINES
"""Accept types whose response holds one line per record (what joining and output filters need)."""


@dataclass(frozen=True)
class Plan:
    """A transform job's settings, checked and defaulted."""

    content_type: str
    accept: str
    split_line: bool
    single_record: bool
    max_payload: int
    assemble_line: bool
    input_filter: jsonpath.JsonPath | None
    output_filter: jsonpath.JsonPath | None
    join: bool


def _problems(arguments: dict[str, Any]) -> list[str]:
    found: list[str] = []
    raw_input = arguments.get("TransformInput")
    given: dict[str, Any] = raw_input if isinstance(raw_input, dict) else {}
    source = (given.get("DataSource") or {}).get("S3DataSource")
    if not isinstance(source, dict) or "S3Uri" not in source:
        found.append("TransformInput.DataSource.S3DataSource.S3Uri is required (only S3 input runs locally)")
    elif _literal(source.get("S3DataType", "S3Prefix")) not in (None, "S3Prefix"):
        found.append(
            f"TransformInput S3DataType {source['S3DataType']} is not supported locally: "
            "list the input under an S3Prefix (manifest files are not read)"
        )
    if _literal(given.get("CompressionType", "None")) not in (None, "None"):
        found.append(
            f"TransformInput CompressionType {given['CompressionType']} is not supported locally; "
            "give uncompressed input"
        )
    split = _literal(given.get("SplitType", "None"))
    if split is not None and split not in SPLIT_TYPES:
        found.append(f"TransformInput SplitType {split} is not supported locally (supported: {', '.join(SPLIT_TYPES)})")
    content_type = _literal(given.get("ContentType"))
    if content_type is not None:
        try:
            _codec().content_type_of(content_type)
        except _codec().RequestError as exc:
            found.append(f"TransformInput ContentType: {exc.message}")
    output = arguments.get("TransformOutput")
    if not isinstance(output, dict) or "S3OutputPath" not in output:
        found.append("TransformOutput.S3OutputPath is required")
        output = {}
    accept = _literal(output.get("Accept"))
    if accept is not None:
        try:
            _codec().accept_of(accept)
        except _codec().RequestError as exc:
            found.append(f"TransformOutput Accept: {exc.message}")
    if _literal(output.get("AssembleWith", "None")) not in (None, *ASSEMBLE_WITH):
        found.append(f"TransformOutput AssembleWith {output['AssembleWith']} is not supported (use None or Line)")
    if _literal(arguments.get("BatchStrategy", "MultiRecord")) not in (None, *STRATEGIES):
        found.append(f"BatchStrategy {arguments['BatchStrategy']} is not one of {', '.join(STRATEGIES)}")
    payload = _literal(arguments.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB))
    if payload is not None and (isinstance(payload, bool) or not isinstance(payload, int) or not 1 <= payload <= 100):
        found.append(f"MaxPayloadInMB must be a whole number from 1 to 100 locally, got {payload!r}")
    if "ModelName" not in arguments:
        found.append("a Transform step needs ModelName")
    elif not is_expression(arguments["ModelName"]):
        found += [problem for problem in [MODEL_NAME.problem("ModelName", arguments["ModelName"])] if problem]
    found.extend(_data_processing_problems(arguments.get("DataProcessing") or {}, content_type, accept, split))
    if arguments.get("DataCaptureConfig"):
        found.append("DataCaptureConfig is not supported locally")
    return found


def _data_processing_problems(processing: dict[str, Any], content_type: Any, accept: Any, split: Any) -> list[str]:
    found = []
    for key in ("InputFilter", "OutputFilter"):
        path = _literal(processing.get(key))
        if path is not None:
            try:
                jsonpath.parse(path)
            except jsonpath.JsonPathError as exc:
                found.append(f"DataProcessing.{key}: {exc}")
    join = _literal(processing.get("JoinSource", "None"))
    if join not in (None, "None", "Input"):
        found.append(f"DataProcessing.JoinSource {join} is not one of None, Input")
    if any(processing.get(key) not in (None, "$", "None") for key in ("InputFilter", "OutputFilter", "JoinSource")):
        if content_type is not None and _codec().parse_media_type(str(content_type))[0] != _codec().CSV:
            found.append(f"DataProcessing needs ContentType text/csv locally (records as arrays), got {content_type}")
        if accept is not None and _codec().parse_media_type(str(accept))[0] not in SPLIT_ACCEPTS:
            found.append(f"DataProcessing needs one output line per record: Accept {' or '.join(SPLIT_ACCEPTS)}")
        if split is not None and split != "Line":
            found.append("DataProcessing needs SplitType Line locally (one record per line)")
    return found


def _literal(value: Any) -> Any:
    """``value``, or None when it is a pipeline expression not resolved yet."""
    return None if is_expression(value) else value


def _plan(arguments: dict[str, Any]) -> Plan:
    given, output = arguments["TransformInput"], arguments["TransformOutput"]
    processing = arguments.get("DataProcessing") or {}
    filters = {key: processing.get(key) for key in ("InputFilter", "OutputFilter")}
    return Plan(
        content_type=_codec().content_type_of(given.get("ContentType")),
        accept=_codec().accept_of(output.get("Accept")),
        split_line=given.get("SplitType", "None") == "Line",
        single_record=arguments.get("BatchStrategy", "MultiRecord") == "SingleRecord",
        max_payload=int(arguments.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)) * MEBIBYTE,
        assemble_line=output.get("AssembleWith", "None") == "Line",
        input_filter=None if filters["InputFilter"] in (None, "$") else jsonpath.parse(filters["InputFilter"]),
        output_filter=None if filters["OutputFilter"] in (None, "$") else jsonpath.parse(filters["OutputFilter"]),
        join=processing.get("JoinSource", "None") == "Input",
    )


class TransformExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        return _problems(arguments)

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = context.arguments
        problems = _problems(arguments)
        if problems:
            raise fail(context, "; ".join(problems))
        name = context.job_name
        started = timestamp()
        plan = _plan(arguments)
        model = self._model(context, str(arguments["ModelName"]))
        source = str(arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
        output_path = str(arguments["TransformOutput"]["S3OutputPath"]).rstrip("/")
        outputs: dict[str, bytes] = {}
        for uri, relative in _inputs(context, source):
            if context.stop is not None and context.stop.is_set():  # StopTransformJob: between objects
                message = f"TransformJob {name} was stopped"
                context.log.write(f"{message}\n")
                raise JobStopped(message, step_name=context.step_name, execution_id=context.execution_id)
            try:
                data = context.store.get_bytes(uri)
                outputs[f"{output_path}/{relative}.out"] = _transform(data, plan, model)
            except _codec().RequestError as exc:
                raise fail(context, f"ClientError: {uri}: {exc.message}") from exc
            context.log.write(f"TransformJob {name}: transformed {uri}\n")
        for uri, body in outputs.items():
            try:
                context.store.put_bytes(uri, body)
            except StoreError as exc:
                raise fail(context, f"writing {uri}: {exc}") from exc
            context.log.write(f"wrote {uri} ({len(body)} bytes)\n")
        ended = timestamp()
        kept = (
            "ModelName",
            "MaxConcurrentTransforms",
            "ModelClientConfig",
            "MaxPayloadInMB",
            "BatchStrategy",
            "Environment",
            "TransformInput",
            "TransformOutput",
            "TransformResources",
            "DataProcessing",
        )
        return {
            **{key: arguments[key] for key in kept if key in arguments},
            "TransformJobName": name,
            "TransformJobArn": job_arn(context, "transform-job", name),
            "TransformJobStatus": JobStatus.COMPLETED,
            "CreationTime": started,
            "TransformStartTime": started,
            "TransformEndTime": ended,
        }

    @staticmethod
    def _model(context: JobContext, model_name: str) -> LoadedModel:
        try:
            described = context.registry.describe_model(ModelName=model_name)
        except RegistryError as exc:
            raise fail(context, f"ModelName {model_name}: {exc} (a Model step creates it)") from exc
        containers = described.get("Containers") or [described["PrimaryContainer"]]
        if len(containers) != 1:
            raise fail(context, f"model {model_name} has {len(containers)} containers; one is served locally")
        image, url = containers[0]["Image"], containers[0].get("ModelDataUrl")
        if repository(image) not in SERVED_IMAGES or url is None:
            raise fail(
                context,
                f"model {model_name}: image {image} with model data {url} cannot be served locally "
                f"(served: {', '.join(sorted(SERVED_IMAGES))} with a ModelDataUrl)",
            )
        archive = host_path(context.work_dir, "/opt/ml/model.tar.gz")
        try:
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(context.store.get_bytes(url))
            from showcase.serving.model import extract_and_check

            model = extract_and_check(archive, host_path(context.work_dir, "/opt/ml/model"), model_package_arn=url)
        except (StoreError, ModelLoadError) as exc:
            raise fail(context, f"model {model_name}: {exc}") from exc
        context.log.write(f"loaded model {model_name} from {url} ({model.num_features} features)\n")
        return model


def _inputs(context: JobContext, source: str) -> Iterator[tuple[str, str]]:
    """(object URI, its key relative to the input prefix) for every input object, in key order."""
    try:
        if context.store.exists(source):
            yield source, source.rstrip("/").rpartition("/")[2]
            return
        prefix = source.rstrip("/") + "/"
        objects = context.store.list(prefix)
    except StoreError as exc:
        raise fail(context, f"TransformInput S3Uri {source}: {exc}") from exc
    if not objects:
        raise fail(context, f"ClientError: no input objects under {source}")
    for uri in objects:
        yield uri, uri[len(prefix) :]


def _transform(data: bytes, plan: Plan, model: LoadedModel) -> bytes:
    records = _records(data, plan)
    out = bytearray()
    first = 1
    for batch in _batches(records, plan):
        try:
            results = _predict(batch, plan, model)
        except _codec().RequestError as exc:
            where = (
                f"record {first}" if len(batch) == 1 else f"the mini-batch of records {first}-{first + len(batch) - 1}"
            )
            raise _codec().RequestError(exc.status, f"{where}: {exc.message}") from exc
        for result in results:
            out += result + (b"\n" if plan.assemble_line and not result.endswith(b"\n") else b"")
        first += len(batch)
    return bytes(out)


def _records(data: bytes, plan: Plan) -> list[bytes]:
    if not plan.split_line:
        return [data] if data.strip() else []
    return [line for line in data.split(b"\n") if line.strip()]


def _batches(records: list[bytes], plan: Plan) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, start=1):
        if len(record) > plan.max_payload:
            raise _codec().RequestError(
                413, f"record {number} is {len(record)} bytes, beyond MaxPayloadInMB ({plan.max_payload // MEBIBYTE})"
            )
        if batch and (plan.single_record or size + len(record) + 1 > plan.max_payload):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield batch


def _predict(batch: list[bytes], plan: Plan, model: LoadedModel) -> list[bytes]:
    """One request's worth of records -> the outputs to write (one per record when they can be told apart)."""
    fields = [_fields(record) for record in batch] if plan.input_filter or plan.join else []
    sent = [_csv_line(_as_list(plan.input_filter.apply(f))) for f in fields] if plan.input_filter else batch
    body = b"\n".join(sent)
    response = _codec().encode(model.predict(_codec().decode(body, plan.content_type, model.num_features)), plan.accept)
    if not (plan.join or plan.output_filter):
        return [response]
    lines = [line for line in response.split(b"\n") if line]
    if len(lines) != len(batch):
        raise _codec().RequestError(500, f"the model answered {len(lines)} lines for {len(batch)} records")
    results = []
    for number, line in enumerate(lines):
        csv = plan.accept == _codec().CSV
        answer: Any = line.decode().split(",") if csv else json.loads(line)
        if plan.join:
            answer = (
                [*fields[number], *answer] if csv else {"SageMakerInput": fields[number], "SageMakerOutput": answer}
            )
        if plan.output_filter:
            answer = plan.output_filter.apply(answer)
        results.append(_csv_line(_as_list(answer)) if csv else json.dumps(answer).encode())
    return results


def _fields(record: bytes) -> list[str]:
    return [field.strip() for field in record.decode("utf-8", errors="strict").strip().split(",")]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _csv_line(values: list[Any]) -> bytes:
    return ",".join(str(value) for value in values).encode()


STEP = StepType(
    "Transform",
    AwsStep("TransformJob", "TransformJobArn", "transform-job"),
    executor=TransformExecutor(),
    cacheable=True,
    cache_key=("DataProcessing", "Environment", "ModelName", "TransformInput"),
    describe="DescribeTransformJob",
)
