"""Model Monitor's analyzer image (data quality and model quality), inside its job process.

``run(ROOT)`` reads ``Environment.dataset_source`` (headerless CSV files, every file under it), writes
``statistics.json`` and the suggested ``constraints.json`` to ``Environment.output_path`` and, when
``baseline_statistics`` / ``baseline_constraints`` name a baseline, ``constraint_violations.json`` of the dataset
against it (``showcase.monitoring`` computes them, in Model Monitor's schema). ``analysis_type`` chooses what:
unset (or ``DATA_QUALITY``) profiles every column; ``MODEL_QUALITY`` measures the predictions in the column
``inference_attribute`` (or, for BinaryClassification, the probabilities in ``probability_attribute`` against
``probability_threshold_attribute``) against the labels in ``ground_truth_attribute``, as ``problem_type`` says
(``showcase.monitoring.model_quality``). A dataset it cannot analyze (no rows, a column that is not a number) fails
the job with its reason in ``output/message``, the step's FailureReason.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from showcase.errors import ShowcaseError
from showcase.local.images.job import failed

OUTPUT_FILES = ("statistics.json", "constraints.json")
VIOLATIONS_FILE = "constraint_violations.json"
BASELINE_KEYS = ("baseline_statistics", "baseline_constraints")
DATA_QUALITY, MODEL_QUALITY = "DATA_QUALITY", "MODEL_QUALITY"
"""The analyzer's ``analysis_type`` values (the SDK sets MODEL_QUALITY and leaves it out for data quality)."""
"""The analyzer's Environment naming the baseline it checks against (container paths of its two files)."""


class AnalysisError(ShowcaseError):
    """The analyzer cannot profile the dataset (it has no rows): the job's ExitMessage."""


def run(root: Path) -> int:
    """The job, with its Environment from the process's; its exit code."""
    message = root / "output" / "message"
    try:
        return analyze_job(root, os.environ)
    except AnalysisError as exc:
        return failed(message, str(exc))
    except Exception as exc:
        traceback.print_exc()
        return failed(message, f"{type(exc).__name__}: {exc}")


def analyze_job(root: Path, environment: Mapping[str, str]) -> int:
    """Analyze ``dataset_source``, write statistics and suggested constraints to ``output_path`` and, when
    ``baseline_statistics``/``baseline_constraints`` are given, the violations."""
    dataset, output = Path(environment["dataset_source"]), Path(environment["output_path"])
    files = sorted(path for path in dataset.rglob("*") if path.is_file())
    if environment.get("analysis_type", DATA_QUALITY) == MODEL_QUALITY:
        return _write(output, *analyze_model_quality(files, environment, _baseline(environment)))
    return _write(output, *analyze(files, _baseline(environment)))


def _write(
    output: Path, calculated: dict[str, Any], constraints: dict[str, Any], found: list[dict[str, Any]] | None
) -> int:
    output.mkdir(parents=True, exist_ok=True)
    documents: dict[str, Any] = {"statistics.json": calculated, "constraints.json": constraints}
    if found is not None:
        documents[VIOLATIONS_FILE] = {"violations": found}
    for file_name, document in documents.items():
        (output / file_name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    columns = f"{len(calculated['features'])} columns" if "features" in calculated else "predictions and labels"
    print(f"baseline of {calculated['dataset']['item_count']} rows, {columns}")
    return 0


def analyze(
    files: list[Path], baseline: tuple[dict[str, Any], dict[str, Any]] | None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]] | None]:
    """The dataset's statistics and suggested constraints, and its violations of ``baseline`` when given."""
    from showcase.monitoring.checks import violations
    from showcase.monitoring.profile import Profile, type_counts
    from showcase.monitoring.statistics import statistics, suggest_constraints

    profile = Profile.of_files(files)
    if profile.item_count == 0:
        raise AnalysisError(f"the baseline dataset ({len(files)} file(s)) has no rows")
    calculated = statistics(profile)
    found = None if baseline is None else violations(calculated, baseline[0], baseline[1], type_counts(profile))
    return calculated, suggest_constraints(calculated), found


def analyze_model_quality(
    files: list[Path], environment: Mapping[str, str], baseline: tuple[dict[str, Any], dict[str, Any]] | None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]] | None]:
    """Model quality of the predictions in the dataset's ``inference_attribute`` column against the labels in its
    ``ground_truth_attribute`` column; the violations of ``baseline``'s constraints when given."""
    from showcase.errors import MonitoringError
    from showcase.monitoring import model_quality

    text = "".join(_with_newline(path.read_text(encoding="utf-8")) for path in files)
    if not text.strip():
        raise AnalysisError(f"the baseline dataset ({len(files)} file(s)) has no rows")
    try:
        calculated = model_quality.statistics_of_dataset(
            text,
            environment.get("inference_attribute", ""),
            environment.get("ground_truth_attribute", ""),
            problem_type=environment.get("problem_type", model_quality.PROBLEM_TYPE),
            probability_attribute=environment.get("probability_attribute", ""),
            probability_threshold=float(environment.get("probability_threshold_attribute") or 0.5),
        )
        found = None if baseline is None else model_quality.violations(calculated, baseline[1])
    except MonitoringError as exc:
        raise AnalysisError(str(exc)) from None
    return calculated, model_quality.suggest_constraints(calculated), found


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _baseline(environment: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    paths = [environment.get(key) for key in BASELINE_KEYS]
    if not all(paths):
        return None
    documents = [json.loads(Path(str(path)).read_text(encoding="utf-8")) for path in paths]
    return documents[0], documents[1]
