"""SageMaker Clarify's processing image (bias and explainability), inside its job process.

``run(ROOT)`` reads the container's paths as the image does: ``processing/input/config/analysis_config.json`` and
every file under ``processing/input/data``; it writes ``analysis.json`` and ``report.ipynb`` to
``processing/output`` (``showcase.monitoring.clarify`` computes them, in Clarify's formats), and for SHAP
``explanations_shap/out.csv`` (one row of SHAP values per record, named by the features). When the runner staged a
baseline (``Environment.baseline_constraints``, an earlier analysis.json) it also writes
``constraint_violations.json`` against it.

Post-training bias and SHAP need the model's predictions. The Clarify image gets them from a shadow endpoint of the
step's ModelName; here the runner stages that model's archive at ``processing/model/model.tar.gz`` and the job
loads it as the local endpoint does (``showcase.serving.model``: XGBoost's own format, never a pickle) and
predicts every record's features (the dataset's columns but the label). The predicted label is the prediction
above ``probability_threshold`` when the config gives one, else the prediction read as the label is
(``label_values_or_threshold``). SHAP values are XGBoost's own (``pred_contribs``: exact TreeSHAP, so
``shap.baseline`` and ``num_samples`` are not used); they stand under ``kernel_shap`` in analysis.json, where
Clarify puts them.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from showcase.errors import ShowcaseError
from showcase.local.images.job import failed, read_json

CONFIG = "processing/input/config/analysis_config.json"
DATA = "processing/input/data"
OUTPUT = "processing/output"
MODEL = "processing/model"
ANALYSIS_FILE = "analysis.json"
VIOLATIONS_FILE = "constraint_violations.json"
SHAP_FILE = "explanations_shap/out.csv"
BASELINE_KEY = "baseline_constraints"
"""The job's Environment naming the analysis.json it checks against (a container path)."""
CHECK_TYPE_KEY = "check_type"


class ClarifyError(ShowcaseError):
    """The job cannot analyze its dataset or model: the job's ExitMessage."""


def run(root: Path) -> int:
    """The job, with its Environment from the process's; its exit code."""
    message = root / "output" / "message"
    try:
        return analyze_job(root, os.environ)
    except ShowcaseError as exc:
        return failed(message, str(exc))
    except Exception as exc:
        traceback.print_exc()
        return failed(message, f"{type(exc).__name__}: {exc}")


def analyze_job(root: Path, environment: Mapping[str, str]) -> int:
    from showcase.monitoring import clarify

    config = read_json(root / CONFIG)
    files = sorted(path for path in (root / DATA).rglob("*") if path.is_file())
    frame = clarify.read_dataset([path.read_text(encoding="utf-8") for path in files], config)
    wanted = config.get("methods") or {}
    analysis: dict[str, Any] = {"version": clarify.VERSION}
    output = root / OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    if "pre_training_bias" in wanted:
        analysis["pre_training_bias_metrics"] = clarify.bias_metrics(frame, config, "pre_training_bias")
    if "post_training_bias" in wanted or "shap" in wanted:
        model, features, names = _model_and_features(root, frame, config, environment.get("model_name", "the model"))
        if "post_training_bias" in wanted:
            predicted = _predicted_labels(model.predict(features), config, frame)
            analysis["post_training_bias_metrics"] = clarify.bias_metrics(
                frame, config, "post_training_bias", predicted
            )
        if "shap" in wanted:
            shap = wanted["shap"] if isinstance(wanted["shap"], dict) else {}
            analysis["explanations"] = {"kernel_shap": {"label0": _shap(model, features, names, output, shap)}}
    if len(analysis) == 1:
        raise ClarifyError("methods asks for none of pre_training_bias, post_training_bias, shap")
    (output / ANALYSIS_FILE).write_text(json.dumps(analysis, indent=2) + "\n", encoding="utf-8")
    (output / "report.ipynb").write_text(json.dumps(clarify.report(analysis), indent=1) + "\n", encoding="utf-8")
    baseline = environment.get(BASELINE_KEY)
    if baseline:
        against = json.loads(Path(baseline).read_text(encoding="utf-8"))
        found = clarify.bias_violations(analysis, against) + clarify.attribution_violations(analysis, against)
        document = {"version": clarify.VERSION, "violations": found}
        (output / VIOLATIONS_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"analysis of {len(frame)} records: {', '.join(key for key in analysis if key != 'version')}")
    return 0


def _model_and_features(
    root: Path, frame: Any, config: Mapping[str, Any], model_name: str
) -> tuple[Any, Any, list[str]]:
    """The staged model, loaded, and the records' features (every column but the label and the excluded)."""
    from showcase.serving.errors import ModelLoadError
    from showcase.serving.model import extract_and_check

    archive = root / MODEL / "model.tar.gz"
    if not archive.exists():
        raise ClarifyError("no model was staged for the job: the step needs ModelName")
    try:
        model = extract_and_check(archive, root / MODEL / "extracted", model_package_arn=model_name)
    except ModelLoadError as exc:
        raise ClarifyError(str(exc)) from exc
    dropped = [str(config.get("label")), *[str(name) for name in config.get("excluded_columns") or []]]
    features = frame.drop(columns=[name for name in dropped if name in frame.columns])
    if features.shape[1] != model.num_features:
        raise ClarifyError(
            f"the model takes {model.num_features} features, the dataset has {features.shape[1]} besides the label: "
            "list the others in excluded_columns"
        )
    return model, features.to_numpy(dtype=float), [str(name) for name in features.columns]


def _predicted_labels(scores: Any, config: Mapping[str, Any], frame: Any) -> Any:
    import numpy as np
    import pandas as pd

    from showcase.monitoring import clarify

    threshold = config.get("probability_threshold")
    if threshold is not None:
        return np.asarray(scores, dtype=float).ravel() > float(threshold)
    label = clarify.column(frame, config.get("label"), "label")
    predicted = pd.Series(np.asarray(scores).ravel(), name=label.name)
    return clarify.selected(predicted, config.get("label_values_or_threshold") or [], "label_values_or_threshold")


def _shap(model: Any, features: Any, names: list[str], output: Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """XGBoost's SHAP values of every record (``pred_contribs``), written to out.csv unless
    ``save_local_shap_values`` is false; their global summary by ``agg_method``."""
    import numpy as np
    import xgboost as xgb

    from showcase.monitoring import clarify

    contributions = np.asarray(model.booster.predict(xgb.DMatrix(features), pred_contribs=True))
    values, bias = contributions[:, :-1], contributions[:, -1]
    if config.get("save_local_shap_values", True):
        target = output / SHAP_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [",".join(names), *(",".join(f"{value:.8g}" for value in row) for row in values)]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = float(bias[0]) if bias.size else 0.0
    return clarify.global_shap(values, names, expected, str(config.get("agg_method", "mean_abs")))
