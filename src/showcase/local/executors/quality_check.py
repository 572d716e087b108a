"""The QualityCheck executor: the local runtime stands in for Model Monitor's analyzer image (data quality).

The step's ``Arguments`` are a processing job request for the ``sagemaker-model-monitor-analyzer`` image: the
baseline dataset staged at ``Environment.dataset_source``, read as ``Environment.dataset_format`` (headerless
CSV), and ``statistics.json`` and ``constraints.json`` written to the output's ``S3Uri`` (``showcase.monitoring``
computes them, in Model Monitor's schema). The step-level fields decide the rest, as
SageMaker documents for QualityCheck steps:

    SkipCheck false      the dataset is checked against the drift-check baseline (SuppliedBaseline*, else the
                         DriftCheckBaselines.ModelDataQuality of the newest Approved package in
                         ModelPackageGroupName); constraint_violations.json is written beside the others, and with
                         FailOnViolation a violation fails the step
    RegisterNewBaseline  BaselineUsedForDriftCheck* are the newly calculated files when it (or SkipCheck) is true,
                         else the baseline that was checked against

Properties: CalculatedBaselineStatistics, CalculatedBaselineConstraints, BaselineUsedForDriftCheckStatistics,
BaselineUsedForDriftCheckConstraints. Model-quality checks, JSON or headed CSV datasets and the analyzer's custom
preprocessing/postprocessing scripts are refused before the execution starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from showcase.errors import RegistryError
from showcase.local.executors.common import fail, host_path, is_expression, job_arn, job_name, refuse, stage, timestamp
from showcase.local.executors.images import repository
from showcase.local.jobs import JobContext
from showcase.monitoring.baselines import baseline_uris
from showcase.statuses import ApprovalStatus, JobStatus
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
UNSUPPORTED_ENVIRONMENT = {
    "record_preprocessor_script": "a record preprocessor script runs inside the analyzer image",
    "post_analytics_processor_script": "a post-analytics processor script runs inside the analyzer image",
}


class QualityCheckExecutor:
    cacheable = True
    step_fields = STEP_FIELDS

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = []
        check_type = arguments.get("CheckType")
        if check_type != "DATA_QUALITY" and not is_expression(check_type):
            found.append(
                f"CheckType {check_type} is not supported locally: only DATA_QUALITY runs here (a MODEL_QUALITY "
                "check merges ground truth with the captures in the analyzer image)"
            )
        image = (arguments.get("AppSpecification") or {}).get("ImageUri")
        if isinstance(image, str) and repository(image) != ANALYZER_REPOSITORY:
            found.append(f"AppSpecification.ImageUri {image} is not Model Monitor's analyzer ({ANALYZER_REPOSITORY})")
        environment = arguments.get("Environment") or {}
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
        if not any(item.get("InputName") == "baseline_dataset_input" and "S3Input" in item for item in inputs):
            found.append("ProcessingInputs needs the S3Input baseline_dataset_input")
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if len(outputs) != 1 or not isinstance(outputs[0].get("S3Output"), dict):
            found.append("ProcessingOutputConfig needs exactly one S3Output (where the baseline is written)")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        # Imported here: they bring pandas, which a run with no quality check (or a cached one) need not load.
        from showcase.monitoring.checks import violations
        from showcase.monitoring.profile import Profile, type_counts
        from showcase.monitoring.statistics import statistics, suggest_constraints

        arguments = context.arguments
        refuse(context, self.problems(arguments))
        name = job_name(context)
        started = timestamp()
        dataset = next(item for item in arguments["ProcessingInputs"] if item["InputName"] == "baseline_dataset_input")
        local = host_path(context.work_dir, dataset["S3Input"]["LocalPath"])
        files = stage(context, "the baseline dataset", dataset["S3Input"].get("S3Uri"), local)
        profile = Profile.of_rows(_rows(sorted(files)))
        if profile.item_count == 0:
            raise fail(context, f"the baseline dataset {dataset['S3Input']['S3Uri']} has no rows")
        calculated = statistics(profile)
        constraints = suggest_constraints(calculated)
        skip = _flag(arguments.get("SkipCheck"), default=False)
        register_new = _flag(arguments.get("RegisterNewBaseline"), default=False)
        previous = None if skip and register_new else self._previous_baseline(context, arguments)
        # Read before anything is written: as on SageMaker, the baseline checked against is an input of the job.
        against = (
            None if skip or previous is None else (self._get(context, previous[0]), self._get(context, previous[1]))
        )
        output = arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
        stats_uri, constraints_uri = f"{output}/statistics.json", f"{output}/constraints.json"
        self._put(context, stats_uri, calculated)
        self._put(context, constraints_uri, constraints)
        context.log.write(f"baseline of {profile.item_count} rows, {len(profile.columns)} columns: {output}/\n")
        if not skip:
            if previous is None or against is None:
                raise fail(
                    context,
                    "SkipCheck is false but there is no baseline to check against: give SuppliedBaselineStatistics "
                    "and SuppliedBaselineConstraints, or approve a package in ModelPackageGroupName "
                    f"{arguments.get('ModelPackageGroupName')!r} that has DriftCheckBaselines.ModelDataQuality "
                    "(or run with SkipCheck true)",
                )
            found = violations(calculated, against[0], against[1], type_counts(profile))
            self._put(context, f"{output}/constraint_violations.json", {"violations": found})
            for violation in found:
                context.log.write(f"violation: {violation['feature_name']} {violation['constraint_check_type']}: "
                                  f"{violation['description']}\n")  # fmt: skip
            if found and _flag(arguments.get("FailOnViolation"), default=True):
                listed = "; ".join(f"{v['feature_name']} {v['constraint_check_type']}" for v in found)
                raise fail(
                    context,
                    f"the data-quality check found {len(found)} violation(s) against the baseline {previous[1]}: "
                    f"{listed} (see {output}/constraint_violations.json)",
                )
        if skip or register_new:
            used = (stats_uri, constraints_uri)
        elif previous is not None:
            used = previous
        else:
            raise fail(
                context,
                "RegisterNewBaseline is false but there is no earlier baseline to carry over: supply one, or run "
                "with RegisterNewBaseline true",
            )
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

    def _previous_baseline(self, context: JobContext, arguments: dict[str, Any]) -> tuple[str, str] | None:
        supplied = arguments.get("SuppliedBaselineStatistics"), arguments.get("SuppliedBaselineConstraints")
        if all(isinstance(uri, str) and uri for uri in supplied):
            return str(supplied[0]), str(supplied[1])
        group = arguments.get("ModelPackageGroupName")
        if not isinstance(group, str) or not group:
            return None
        try:
            listed = context.registry.list_model_packages(
                ModelPackageGroupName=group,
                ModelApprovalStatus=ApprovalStatus.APPROVED.value,
                SortBy="CreationTime",
                SortOrder="Descending",
                MaxResults=1,
            )["ModelPackageSummaryList"]
            if not listed:
                return None
            package = context.registry.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])
        except RegistryError as exc:
            context.log.write(f"no earlier baseline from {group!r}: {exc}\n")
            return None
        uris = baseline_uris({"DriftCheckBaselines": package.get("DriftCheckBaselines")})
        if uris is not None:
            context.log.write(f"drift-check baseline of {package['ModelPackageArn']}: {uris[1]}\n")
        return uris

    def _put(self, context: JobContext, uri: str, document: dict[str, Any]) -> None:
        try:
            context.store.put_bytes(uri, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        except StoreError as exc:
            raise fail(context, f"cannot write {uri}: {exc}") from exc

    def _get(self, context: JobContext, uri: str) -> dict[str, Any]:
        try:
            document = json.loads(context.store.get_bytes(uri))
        except StoreError as exc:
            raise fail(context, f"the drift-check baseline: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(context, f"the drift-check baseline {uri} is not JSON: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("features"), list):
            raise fail(context, f"the drift-check baseline {uri} is not in Model Monitor's format (no features)")
        return document


def _format(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _flag(value: object, *, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return default


def _rows(files: list[Path]) -> Iterator[str]:
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                row = line.rstrip("\r\n")
                if row:
                    yield row
