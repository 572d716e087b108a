"""The Transform executor: a batch transform job in a job process of its own, with the endpoint's model loading
and codec (``images.transform_job``): a row gets the same answer there as from the endpoint.

The runner checks the arguments, stages the model a Model step created (``ModelName``; ``steps.served``: its
archive into the job's ``/opt/ml/model``), stages every object under
``TransformInput.DataSource.S3DataSource.S3Uri`` (S3Prefix) into ``/opt/ml/input/data/transform``, writes the
plan to ``/opt/ml/input/config/transform.json`` and starts the job (``run_job_process``: its own ``/opt/ml``, its
log, stopping and ``StoppingCondition`` as for every job). It decides whether the job may unpickle a pickled
``xgboost-model`` (the images before 1.3-1 write one): only when this home's training job wrote the archive,
byte for byte, or ``SHOWCASE_ALLOW_PICKLED_MODELS`` allows it (``registry.provenance``); the runner itself never
reads the model. Once the job has transformed every object, one object ``<S3OutputPath>/<key relative to the
input prefix>.out`` per input object is uploaded. A model of several containers (an inference pipeline) runs
them in sequence in the job, as the endpoint does (``serving.containers``). ``images.transform_job`` says how
records, mini-batches, ``AssembleWith`` and ``DataProcessing`` are read.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.local import images
from showcase.local.images import jsonpath
from showcase.local.images.transform_job import CONFIG, INPUT, MEBIBYTE, OUTPUT, Plan
from showcase.local.jobs import JobContext
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps.common import fail, host_path, is_expression, job_arn, job_view, run_job_process
from showcase.local.steps.served import stage_model
from showcase.local.steptype import AwsStep, StepType
from showcase.names import MODEL_NAME
from showcase.statuses import JobStatus
from showcase.store import StoreError

if TYPE_CHECKING:
    from types import ModuleType


def _codec() -> ModuleType:
    """The endpoint's codec, imported when a Transform step is checked or run: it brings numpy and pandas,
    which a run with no Transform step (or whose jobs are all cache hits) need not load."""
    from showcase.serving import codec

    return codec


DEFAULT_MAX_PAYLOAD_MB = 6
SPLIT_TYPES = ("None", "Line")
STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
SPLIT_ACCEPTS = ("text/csv", "application/jsonlines")  # the codec's CSV and JSONLINES
"""Accept types whose response holds one line per record (what joining and output filters need)."""


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
        input_filter=None if filters["InputFilter"] in (None, "$") else str(filters["InputFilter"]),
        output_filter=None if filters["OutputFilter"] in (None, "$") else str(filters["OutputFilter"]),
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
        model = stage_model(context, str(arguments["ModelName"]))
        source = str(arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
        output_path = str(arguments["TransformOutput"]["S3OutputPath"]).rstrip("/")
        objects = list(_inputs(context, source))
        staged = host_path(context.work_dir, f"/opt/ml/{INPUT}")
        staged.mkdir(parents=True, exist_ok=True)
        for number, (uri, _) in enumerate(objects):
            try:
                shutil.copyfile(context.store.path_of(uri), staged / str(number))
            except (StoreError, OSError) as exc:
                raise fail(context, f"TransformInput {uri}: {exc}") from exc
        context.log.write(f"staged {len(objects)} input object(s) from {source} into {staged}\n")
        config = {**model, "Plan": _plan(arguments).to_json(), "Objects": [uri for uri, _ in objects], "JobName": name}
        host_path(context.work_dir, f"/opt/ml/{CONFIG}").parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(host_path(context.work_dir, f"/opt/ml/{CONFIG}"), config)
        in_view = job_view(context)
        root = str(CONTAINER_ROOT) if in_view else str(context.work_dir)
        command = images.command("transform", root)
        run_job_process(
            context, "TransformJob", name, command, env=images.environment(), cwd=context.work_dir, in_view=in_view
        )
        for number, (_, relative) in enumerate(objects):  # uploaded only once every object has been transformed
            result, uri = host_path(context.work_dir, f"/opt/ml/{OUTPUT}/{number}.out"), f"{output_path}/{relative}.out"
            try:
                context.store.put_file(uri, result)
            except (StoreError, OSError) as exc:
                raise fail(context, f"writing {uri}: {exc}") from exc
            context.log.write(f"wrote {uri} ({result.stat().st_size} bytes)\n")
        return _properties(context, name, started)


def _properties(context: JobContext, name: str, started: str) -> dict[str, Any]:
    arguments = context.arguments
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
        "TransformEndTime": timestamp(),
    }


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


STEP = StepType(
    "Transform",
    AwsStep("TransformJob", "TransformJobArn", "transform-job"),
    executor=TransformExecutor(),
    cacheable=True,
    cache_key=("DataProcessing", "Environment", "ModelName", "TransformInput"),
    job_process=True,
    describe="DescribeTransformJob",
)
