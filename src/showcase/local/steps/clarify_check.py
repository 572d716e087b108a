"""The ClarifyCheck executor: the local runtime stands in for SageMaker Clarify's processing image.

The step's ``Arguments`` are a processing job request for the ``sagemaker-clarify-processing`` image, as the SDK's
ClarifyCheckStep writes it: the ``analysis_config`` input (the analysis_config.json the SDK uploaded when it built
the definition) at ``/opt/ml/processing/input/config``, the ``dataset`` input at ``/opt/ml/processing/input/data``,
and the ``analysis_result`` output from ``/opt/ml/processing/output``. ``CheckType`` says what the config asks:

    DATA_BIAS             pre-training bias metrics of the dataset's labels
    MODEL_BIAS            post-training bias metrics of the predictions of the model ``ModelName``
    MODEL_EXPLAINABILITY  SHAP values of that model's predictions

The job (``showcase.local.images.clarify``) writes analysis.json, report.ipynb and, for SHAP,
explanations_shap/out.csv. For a model check the runner stages the containers of the model ``ModelName`` names
(the record a Model step created: one XGBoost container, or an inference pipeline ending with one) as a Transform
job's (``steps.served``), and the job loads them in its own process; Clarify serves the model from a shadow
endpoint instead. When the staged analysis config's ``methods.shap.baseline`` is an S3 URI, the runner stages that
object at ``/opt/ml/processing/input/shap_baseline/baseline`` (``images.clarify.SHAP_BASELINE``), where the job reads
its rows (Clarify's image reads it from S3 itself); no object there fails the step before the job runs. The
drift-check fields are those of every check step (``steps.drift``); the baseline is one
file, an analysis.json: ``SuppliedBaselineConstraints``, else the newest Approved package's
``DriftCheckBaselines.Bias.PreTrainingConstraints`` / ``Bias.PostTrainingConstraints`` /
``Explainability.Constraints``. A violation (``constraint_violations.json``, written beside analysis.json) fails
the step unless ``FailOnViolation`` is false.

Properties: CalculatedBaselineConstraints (the new analysis.json), BaselineUsedForDriftCheckConstraints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.local import images
from showcase.local.images.clarify import (
    ANALYSIS_FILE,
    BASELINE_KEY,
    CONFIG,
    MODEL,
    MODEL_CONFIG,
    SHAP_BASELINE,
    SHAP_FILE,
    VIOLATIONS_FILE,
)
from showcase.local.jobs import JobContext
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps.common import (
    fail,
    host_path,
    is_expression,
    job_arn,
    job_view,
    refuse,
    run_job_process,
    stage,
)
from showcase.local.steps.drift import decide, fails_on_violation
from showcase.local.steps.served import stage_model
from showcase.local.steps.standins import repository
from showcase.local.steptype import AwsStep, Location, StepType
from showcase.statuses import JobStatus
from showcase.store import StoreError

CLARIFY_REPOSITORY = "sagemaker-clarify-processing"
STEP_FIELDS = (
    "CheckType",
    "SkipCheck",
    "FailOnViolation",
    "RegisterNewBaseline",
    "ModelPackageGroupName",
    "SuppliedBaselineConstraints",
    "ModelName",
)
LOCAL_PATHS = {
    "analysis_config": "/opt/ml/processing/input/config",
    "dataset": "/opt/ml/processing/input/data",
}
OUTPUT_PATH = "/opt/ml/processing/output"
BASELINE_PATH = "/opt/ml/processing/baseline/analysis.json"
BASELINES = {
    "DATA_BIAS": ("Bias", "PreTrainingConstraints"),
    "MODEL_BIAS": ("Bias", "PostTrainingConstraints"),
    "MODEL_EXPLAINABILITY": ("Explainability", "Constraints"),
}
"""Where a package keeps each check type's baseline, in DriftCheckBaselines."""


class ClarifyCheckExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = []
        check_type = arguments.get("CheckType")
        if check_type not in BASELINES and not is_expression(check_type):
            found.append(f"CheckType {check_type} is not one of {', '.join(BASELINES)}")
        if check_type in ("MODEL_BIAS", "MODEL_EXPLAINABILITY") and not arguments.get("ModelName"):
            found.append(f"a {check_type} check needs ModelName (the model whose predictions it analyzes)")
        image = (arguments.get("AppSpecification") or {}).get("ImageUri")
        if isinstance(image, str) and repository(image) != CLARIFY_REPOSITORY:
            found.append(f"AppSpecification.ImageUri {image} is not SageMaker Clarify's ({CLARIFY_REPOSITORY})")
        inputs = {
            item.get("InputName"): item for item in arguments.get("ProcessingInputs") or [] if isinstance(item, dict)
        }
        for name, path in LOCAL_PATHS.items():
            source = (inputs.get(name) or {}).get("S3Input")
            if not isinstance(source, dict):
                found.append(f"ProcessingInputs needs the S3Input {name}")
            elif source.get("LocalPath") != path and not is_expression(source.get("LocalPath")):
                found.append(f"ProcessingInputs {name}.S3Input.LocalPath must be {path}, where Clarify reads it")
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if len(outputs) != 1 or not isinstance(outputs[0].get("S3Output"), dict):
            found.append("ProcessingOutputConfig needs exactly one S3Output (analysis_result)")
        elif outputs[0]["S3Output"].get("LocalPath") not in (None, OUTPUT_PATH):
            found.append(f"ProcessingOutputConfig.Outputs[0].S3Output.LocalPath must be {OUTPUT_PATH}")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        """Stage the config, the dataset (and the model), run Clarify's job process, upload what it wrote, then
        apply the drift-check fields. The runner reads neither the dataset nor the model."""
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        name, started = context.job_name, timestamp()
        check_type = str(arguments["CheckType"])
        section, key = BASELINES[check_type]
        drift = decide(
            context,
            (arguments.get("SuppliedBaselineConstraints"),),
            lambda package: _package_baseline(package, section, key),
            f"{section}.{key}",
        )
        written = self._launch(context, name, drift.checked_against)
        output = arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
        files = [ANALYSIS_FILE, "report.ipynb"]
        files += [SHAP_FILE] if check_type == "MODEL_EXPLAINABILITY" else []
        files += [VIOLATIONS_FILE] if drift.checked_against else []
        for file_name in files:
            try:
                context.store.put_file(
                    f"{output}/{file_name}", written / file_name, within=context.work_dir, shown_as=str(CONTAINER_ROOT)
                )
            except (StoreError, OSError) as exc:
                raise fail(context, f"cannot upload {file_name} to {output}/: {exc}") from exc
        context.log.write(f"analysis written to {output}/\n")
        if drift.checked_against is not None:
            self._judge(context, written / VIOLATIONS_FILE, drift.checked_against[0], f"{output}/{VIOLATIONS_FILE}")
        (used,) = drift.used((f"{output}/{ANALYSIS_FILE}",))
        return {
            "ProcessingJobName": name,
            "ProcessingJobArn": job_arn(context, "processing-job", name),
            "ProcessingJobStatus": JobStatus.COMPLETED.value,
            "CreationTime": started,
            "ProcessingEndTime": timestamp(),
            "CalculatedBaselineConstraints": f"{output}/{ANALYSIS_FILE}",
            "BaselineUsedForDriftCheckConstraints": used,
        }

    def _launch(self, context: JobContext, name: str, against: tuple[str, ...] | None) -> Path:
        inputs = {item["InputName"]: item["S3Input"] for item in context.arguments["ProcessingInputs"]}
        for input_name, path in LOCAL_PATHS.items():
            stage(
                context, f"the {input_name} input", inputs[input_name].get("S3Uri"), host_path(context.work_dir, path)
            )
        self._stage_shap_baseline(context)
        if context.arguments["CheckType"] != "DATA_BIAS":
            self._stage_model(context, str(context.arguments["ModelName"]))
        environment = {}
        in_view = job_view(context)
        if against is not None:
            # As on SageMaker, the baseline checked against is an input of the job, read before anything is written.
            target = host_path(context.work_dir, BASELINE_PATH)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.write_bytes(context.store.get_bytes(against[0]))
            except StoreError as exc:
                raise fail(context, f"the drift-check baseline: {exc}") from exc
            environment[BASELINE_KEY] = BASELINE_PATH if in_view else str(target)
        root = str(CONTAINER_ROOT) if in_view else str(context.work_dir)
        if context.arguments["CheckType"] != "DATA_BIAS":
            environment["model_name"] = str(context.arguments["ModelName"])
        env = images.environment() | environment
        command = images.command("clarify", root)
        run_job_process(context, "ProcessingJob", name, command, env=env, cwd=context.work_dir, in_view=in_view)
        return host_path(context.work_dir, OUTPUT_PATH)

    @staticmethod
    def _stage_model(context: JobContext, model_name: str) -> None:
        """Put the model's containers where the job loads them (``steps.served``), and what they are in
        ``MODEL_CONFIG``; the runner never opens the model."""
        staged = stage_model(context, model_name, under=MODEL)
        write_json_atomically(host_path(context.work_dir, f"{CONTAINER_ROOT}/{MODEL_CONFIG}"), staged)
        context.log.write(f"staged model {model_name} from {staged['ModelDataUrl']}\n")

    @staticmethod
    def _stage_shap_baseline(context: JobContext) -> None:
        """Put the object an S3 URI ``methods.shap.baseline`` names where the job reads it (``SHAP_BASELINE``); a
        config that is not JSON, or gives no such URI, is the job's to read."""
        try:
            config = json.loads(host_path(context.work_dir, f"{CONTAINER_ROOT}/{CONFIG}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        methods = config.get("methods") if isinstance(config, dict) else None
        shap = methods.get("shap") if isinstance(methods, dict) else None
        uri = shap.get("baseline") if isinstance(shap, dict) else None
        if not (isinstance(uri, str) and uri.startswith("s3://")):
            return
        try:
            rows = context.store.get_bytes(uri)
        except StoreError as exc:
            raise fail(
                context,
                f"the analysis config's shap.baseline {uri}: {exc}: put the CSV file of baseline rows there, or give "
                "the rows themselves (SHAPConfig(baseline=[[...]]))",
            ) from exc
        target = host_path(context.work_dir, f"{CONTAINER_ROOT}/{SHAP_BASELINE}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rows)
        context.log.write(f"staged the SHAP baseline from {uri} ({len(rows)} bytes)\n")

    @staticmethod
    def _judge(context: JobContext, violations_file: Path, baseline: str, shown: str) -> None:
        found = json.loads(violations_file.read_text(encoding="utf-8"))["violations"]
        named = [
            " ".join(str(v[key]) for key in ("facet", "facet_value", "label", "metric_name") if key in v) for v in found
        ]
        for violation, name in zip(found, named, strict=True):
            context.log.write(f"violation: {name} {violation['constraint_check_type']}: {violation['description']}\n")
        if found and fails_on_violation(context):
            raise fail(
                context,
                f"the {str(context.arguments['CheckType']).lower().replace('_', ' ')} check found {len(found)} "
                f"violation(s) against the baseline {baseline}: {'; '.join(named)} (see {shown})",
            )


def _package_baseline(package: dict[str, Any], section: str, key: str) -> tuple[str, ...] | None:
    uri = (((package.get("DriftCheckBaselines") or {}).get(section) or {}).get(key) or {}).get("S3Uri")
    return (str(uri),) if uri else None


STEP = StepType(
    "ClarifyCheck",
    AwsStep("ClarifyCheck"),
    executor=ClarifyCheckExecutor(),
    cacheable=True,
    cache_key=(
        "AppSpecification",
        "Environment",
        "ProcessingInputs",
        "ProcessingResources",
        "CheckType",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "ModelName",
    ),
    step_fields=STEP_FIELDS,
    inputs=(Location("ProcessingInputs[].S3Input.S3Uri"),),
    outputs=(Location("ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),),
    job_process=True,
    describe="DescribeProcessingJob",
)
