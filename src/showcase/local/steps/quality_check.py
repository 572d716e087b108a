"""The QualityCheck executor: the local runtime stands in for Model Monitor's analyzer image (data quality and
model quality).

The step's ``Arguments`` are a processing job request for the ``sagemaker-model-monitor-analyzer`` image: the
baseline dataset staged at ``Environment.dataset_source``, read as ``Environment.dataset_format`` (headerless
CSV), and ``statistics.json`` and ``constraints.json`` written to the output's ``S3Uri`` (``showcase.monitoring``
computes them, in Model Monitor's schema). ``CheckType`` MODEL_QUALITY (the SDK's ModelQualityCheckConfig) measures
the dataset's ``Environment.inference_attribute`` column (the predictions) against its ``ground_truth_attribute``
column (the labels): ``regression_metrics`` and ``regression_constraints`` for ``problem_type`` Regression,
``binary_classification_*`` and ``multiclass_classification_*`` for the classifications. The
step-level fields decide the rest, as
SageMaker documents for QualityCheck steps:

    SkipCheck false      the dataset is checked against the drift-check baseline (SuppliedBaseline*, else the
                         DriftCheckBaselines.ModelDataQuality, or .ModelQuality, of the newest Approved package in
                         ModelPackageGroupName); constraint_violations.json is written beside the others, and with
                         FailOnViolation a violation fails the step
    RegisterNewBaseline  BaselineUsedForDriftCheck* are the newly calculated files when it (or SkipCheck) is true,
                         else the baseline that was checked against

The analyzer runs as a processing job process of its own, as the image does (``showcase.local.images.analyzer``
inside it): the runner stages the dataset at its ``LocalPath`` and the baseline checked against at
``/opt/ml/processing/baseline/...`` (``Environment.baseline_statistics`` / ``baseline_constraints``), starts the job,
and uploads what it wrote to ``output_path`` at its end; the runner never reads the dataset. A job that cannot
profile the dataset writes why to ``/opt/ml/output/message``, the step's FailureReason.

Properties: CalculatedBaselineStatistics, CalculatedBaselineConstraints, BaselineUsedForDriftCheckStatistics,
BaselineUsedForDriftCheckConstraints. JSON or headed CSV datasets and the analyzer's custom
preprocessing/postprocessing scripts are refused before the execution starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.local import images
from showcase.local.images.analyzer import BASELINE_KEYS, DATA_QUALITY, MODEL_QUALITY, OUTPUT_FILES, VIOLATIONS_FILE
from showcase.local.jobs import JobContext
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps.common import (
    container_argument,
    fail,
    host_path,
    is_expression,
    job_arn,
    job_view,
    local_path_problem,
    refuse,
    run_job_process,
    stage,
)
from showcase.local.steps.drift import decide, fails_on_violation
from showcase.local.steps.standins import repository
from showcase.local.steptype import AwsStep, Location, StepType
from showcase.monitoring.baselines import baseline_uris
from showcase.statuses import JobStatus
from showcase.store import StoreError

ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"
STEP_FIELDS = (
    "CheckType",
    "SkipCheck",
    "FailOnViolation",
    "RegisterNewBaseline",
    "ModelPackageGroupName",
    "SuppliedBaselineStatistics",
    "SuppliedBaselineConstraints",
)
DEFAULT_OUTPUT = "/opt/ml/processing/output"
BASELINE_PATHS = (
    "/opt/ml/processing/baseline/stats/statistics.json",
    "/opt/ml/processing/baseline/constraints/constraints.json",
)
MODEL_QUALITY_ENVIRONMENT = (
    "analysis_type",
    "problem_type",
    "inference_attribute",
    "ground_truth_attribute",
    "probability_attribute",
    "probability_threshold_attribute",
)
"""What a model-quality check's analyzer reads of the step's Environment (besides its dataset and output)."""
PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
BASELINE_KINDS = {DATA_QUALITY: "ModelDataQuality", MODEL_QUALITY: "ModelQuality"}
"""Where a package keeps a check type's baseline, in DriftCheckBaselines (and ModelMetrics)."""
UNSUPPORTED_ENVIRONMENT = {
    "record_preprocessor_script": "a record preprocessor script runs inside the analyzer image",
    "post_analytics_processor_script": "a post-analytics processor script runs inside the analyzer image",
}


class QualityCheckExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = []
        check_type = arguments.get("CheckType")
        if check_type not in BASELINE_KINDS and not is_expression(check_type):
            found.append(f"CheckType {check_type} is not one of {', '.join(BASELINE_KINDS)}")
        image = (arguments.get("AppSpecification") or {}).get("ImageUri")
        if isinstance(image, str) and repository(image) != ANALYZER_REPOSITORY:
            found.append(f"AppSpecification.ImageUri {image} is not Model Monitor's analyzer ({ANALYZER_REPOSITORY})")
        environment = arguments.get("Environment") or {}
        if check_type == MODEL_QUALITY:
            found += _model_quality_problems(environment)
        for key, why in UNSUPPORTED_ENVIRONMENT.items():
            if environment.get(key):
                found.append(f"Environment.{key} is not supported locally: {why}")
        dataset_format = environment.get("dataset_format")
        csv = _format(dataset_format).get("csv") if isinstance(dataset_format, str) else {}
        if not isinstance(csv, dict) or csv.get("header"):
            found.append(
                f"Environment.dataset_format {dataset_format} is not supported locally: only headerless csv datasets"
            )
        inputs = [item for item in arguments.get("ProcessingInputs") or [] if isinstance(item, dict)]
        dataset = next((item for item in inputs if item.get("InputName") == "baseline_dataset_input"), None)
        if dataset is None or not isinstance(dataset.get("S3Input"), dict):
            found.append("ProcessingInputs needs the S3Input baseline_dataset_input")
        else:
            found += local_path_problem("baseline_dataset_input.S3Input", dataset["S3Input"].get("LocalPath"))
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if len(outputs) != 1 or not isinstance(outputs[0].get("S3Output"), dict):
            found.append("ProcessingOutputConfig needs exactly one S3Output (where the baseline is written)")
        elif outputs[0]["S3Output"].get("LocalPath") is not None:
            found += local_path_problem(
                "ProcessingOutputConfig.Outputs[0].S3Output", outputs[0]["S3Output"]["LocalPath"]
            )
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        """Launch the analyzer as a job process (``images.analyzer``, ``analyze_job`` inside it), then upload
        what it wrote and apply the step-level fields. The dataset is staged, never read, by the runner."""
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        name = context.job_name
        started = timestamp()
        dataset = next(item for item in arguments["ProcessingInputs"] if item["InputName"] == "baseline_dataset_input")
        output_config = arguments["ProcessingOutputConfig"]["Outputs"][0]
        local_output = str(output_config["S3Output"].get("LocalPath") or DEFAULT_OUTPUT)
        supplied = (arguments.get("SuppliedBaselineStatistics"), arguments.get("SuppliedBaselineConstraints"))
        kind = _kind(arguments)
        drift = decide(context, supplied, lambda package: baseline_uris(package, kind), kind)
        checked_against = drift.checked_against
        written = self._launch(context, name, dataset["S3Input"], local_output, checked_against)
        output = output_config["S3Output"]["S3Uri"].rstrip("/")
        stats_uri, constraints_uri = f"{output}/statistics.json", f"{output}/constraints.json"
        for file_name in (*OUTPUT_FILES, *([VIOLATIONS_FILE] if checked_against else [])):
            try:
                context.store.put_file(
                    f"{output}/{file_name}", written / file_name, within=context.work_dir, shown_as=str(CONTAINER_ROOT)
                )
            except (StoreError, OSError) as exc:
                raise fail(context, f"cannot upload {file_name} to {output}/: {exc}") from exc
        context.log.write(f"baseline written to {output}/\n")
        if checked_against is not None:
            self._judge(context, written / VIOLATIONS_FILE, checked_against[1], f"{output}/{VIOLATIONS_FILE}")
        used = drift.used((stats_uri, constraints_uri))
        ended = timestamp()
        return {
            "ProcessingJobName": name,
            "ProcessingJobArn": job_arn(context, "processing-job", name),
            "ProcessingJobStatus": JobStatus.COMPLETED.value,
            "CreationTime": started,
            "ProcessingEndTime": ended,
            "CalculatedBaselineStatistics": stats_uri,
            "CalculatedBaselineConstraints": constraints_uri,
            "BaselineUsedForDriftCheckStatistics": used[0],
            "BaselineUsedForDriftCheckConstraints": used[1],
        }

    def _launch(
        self, context: JobContext, name: str, dataset: dict[str, Any], output: str, against: tuple[str, ...] | None
    ) -> Path:
        """Stage the job's inputs, run the analyzer's job process; the host directory it wrote its files to."""
        stage(context, "the baseline dataset", dataset.get("S3Uri"), host_path(context.work_dir, dataset["LocalPath"]))
        given = context.arguments.get("Environment") or {}
        environment = {"dataset_source": dataset["LocalPath"], "output_path": output}
        if context.arguments.get("CheckType") == MODEL_QUALITY:
            environment |= {key: str(given[key]) for key in MODEL_QUALITY_ENVIRONMENT if given.get(key) is not None}
        if against is not None:
            # As on SageMaker, the baseline checked against is an input of the job, read before anything is written.
            for key, uri, path in zip(BASELINE_KEYS, against, BASELINE_PATHS, strict=True):
                target = host_path(context.work_dir, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(self._get(context, uri, key)), encoding="utf-8")
                environment[key] = path
        in_view = job_view(context)
        if not in_view:
            environment = {key: container_argument(context.work_dir, value) for key, value in environment.items()}
        root = str(CONTAINER_ROOT) if in_view else str(context.work_dir)
        command = images.command("analyzer", root)
        env = images.environment() | environment
        run_job_process(context, "ProcessingJob", name, command, env=env, cwd=context.work_dir, in_view=in_view)
        return host_path(context.work_dir, output)

    def _judge(self, context: JobContext, violations_file: Path, baseline: str, shown: str) -> None:
        """Log each violation the analyzer found; with FailOnViolation (the default), fail on any."""
        found = json.loads(violations_file.read_text(encoding="utf-8"))["violations"]
        model_quality = context.arguments.get("CheckType") == MODEL_QUALITY
        subject = "metric_name" if model_quality else "feature_name"
        for violation in found:
            context.log.write(f"violation: {violation[subject]} {violation['constraint_check_type']}: "
                              f"{violation['description']}\n")  # fmt: skip
        if found and fails_on_violation(context):
            listed = "; ".join(f"{v[subject]} {v['constraint_check_type']}" for v in found)
            check = "model-quality" if model_quality else "data-quality"
            raise fail(
                context,
                f"the {check} check found {len(found)} violation(s) against the baseline {baseline}: "
                f"{listed} (see {shown})",
            )

    def _get(self, context: JobContext, uri: str, key: str) -> dict[str, Any]:
        try:
            document = json.loads(context.store.get_bytes(uri))
        except StoreError as exc:
            raise fail(context, f"the drift-check baseline: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(context, f"the drift-check baseline {uri} is not JSON: {exc}") from exc
        expected = REQUIRED_KEYS[str(context.arguments.get("CheckType")), key]
        if context.arguments.get("CheckType") == MODEL_QUALITY:
            problem = str((context.arguments.get("Environment") or {}).get("problem_type"))
            expected = f"{_snake(problem if problem in PROBLEM_TYPES else PROBLEM_TYPES[0])}_{expected}"
        if not isinstance(document, dict) or not isinstance(document.get(expected), list | dict):
            raise fail(context, f"the drift-check baseline {uri} is not in Model Monitor's format (no {expected})")
        return document


REQUIRED_KEYS = {
    (DATA_QUALITY, BASELINE_KEYS[0]): "features",
    (DATA_QUALITY, BASELINE_KEYS[1]): "features",
    (MODEL_QUALITY, BASELINE_KEYS[0]): "metrics",
    (MODEL_QUALITY, BASELINE_KEYS[1]): "constraints",
}
"""What a baseline file of each check type must hold to be Model Monitor's."""


def _snake(problem_type: str) -> str:
    """``binary_classification`` for BinaryClassification: how Model Monitor names its statistics' section."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", problem_type).lower()


def _kind(arguments: dict[str, Any]) -> str:
    return BASELINE_KINDS.get(str(arguments.get("CheckType")), BASELINE_KINDS[DATA_QUALITY])


def _model_quality_problems(environment: dict[str, Any]) -> list[str]:
    """What a MODEL_QUALITY check's Environment must say for the analyzer to measure it here."""
    found = []
    if environment.get("analysis_type") != MODEL_QUALITY:
        found.append(f"Environment.analysis_type must be {MODEL_QUALITY} for a MODEL_QUALITY check")
    problem = environment.get("problem_type")
    if problem not in PROBLEM_TYPES and not is_expression(problem):
        found.append(f"Environment.problem_type {problem} is not one of {', '.join(PROBLEM_TYPES)}")
    if environment.get("ground_truth_attribute") in (None, ""):
        found.append(
            "Environment.ground_truth_attribute is missing: a model-quality check needs the column of the labels "
            "(_c0, _c1, ... or 0, 1, ...)"
        )
    given = [key for key in ("inference_attribute", "probability_attribute") if environment.get(key) not in (None, "")]
    if not given or (problem != "BinaryClassification" and "inference_attribute" not in given):
        either = " (or, for BinaryClassification, probability_attribute)" if not given else ""
        found.append(
            f"Environment.inference_attribute is missing{either}: a model-quality check needs the column of the "
            "predictions (_c0, _c1, ... or 0, 1, ...)"
        )
    return found


def _format(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


STEP = StepType(
    "QualityCheck",
    AwsStep("QualityCheck"),
    executor=QualityCheckExecutor(),
    cacheable=True,
    cache_key=(
        "AppSpecification",
        "Environment",
        "ProcessingInputs",
        "ProcessingResources",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "SuppliedBaselineStatistics",
    ),
    step_fields=STEP_FIELDS,
    inputs=(Location("ProcessingInputs[].S3Input.S3Uri"),),
    outputs=(Location("ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),),
    job_process=True,
    describe="DescribeProcessingJob",
)
