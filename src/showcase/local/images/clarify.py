"""SageMaker Clarify's processing image (bias and explainability), inside its job process.

``run(ROOT)`` reads the container's paths as the image does: ``processing/input/config/analysis_config.json`` and
every file under ``processing/input/data``; it writes ``analysis.json`` and ``report.ipynb`` to
``processing/output`` (``showcase.monitoring.clarify`` computes them, in Clarify's formats), and for SHAP
``explanations_shap/out.csv`` (one row of SHAP values per record, named by the features). When the runner staged a
baseline (``Environment.baseline_constraints``, an earlier analysis.json) it also writes
``constraint_violations.json`` against it.

Post-training bias and SHAP need the model's predictions. The Clarify image gets them from a shadow endpoint of the
step's ModelName; here the runner stages that model's containers under ``processing/model`` (``steps.served``, as
for a Transform job: the last, XGBoost, container's archive in ``model``, any before it in ``containers/<n>``,
what they are in ``model.json``) and the job loads them as the local endpoint does (``showcase.serving``: XGBoost's
own format, a pickle only with the runner's permission; the scikit-learn containers' scripts in this process) and
predicts every record's features (the dataset's columns but the label and ``excluded_columns``), through the
containers in sequence as a text/csv request. The predicted label is the prediction above
``probability_threshold`` when the config gives one, else the prediction read as the label is
(``label_values_or_threshold``).

SHAP values stand under ``kernel_shap`` in analysis.json, where Clarify puts them. A model of one XGBoost container
gets XGBoost's own (``pred_contribs``: exact TreeSHAP, so ``baseline``, ``num_samples``, ``seed`` and ``use_logit``
are not used); a model of several containers gets KernelSHAP over its predictions (``monitoring.kernel_shap``, with
every SHAPConfig field), as Clarify computes for every model. A ``baseline`` given as an S3 URI is read from
``processing/input/shap_baseline/baseline`` (``SHAP_BASELINE``), where the runner staged that object: a CSV file of
baseline rows, features only, no header (the dataset is CSV here, and Clarify reads the baseline in the dataset's
format).
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showcase.errors import ShowcaseError
from showcase.local.images.job import failed, read_json

if TYPE_CHECKING:
    from showcase.serving.contract import ScriptedContainer
    from showcase.serving.model import LoadedModel

CONFIG = "processing/input/config/analysis_config.json"
DATA = "processing/input/data"
OUTPUT = "processing/output"
MODEL = "processing/model"
MODEL_CONFIG = f"{MODEL}/model.json"
"""What the runner staged of the model (``steps.served``): its last container's image and unpickle permission,
the containers before it."""
ANALYSIS_FILE = "analysis.json"
VIOLATIONS_FILE = "constraint_violations.json"
SHAP_FILE = "explanations_shap/out.csv"
SHAP_BASELINE = "processing/input/shap_baseline/baseline"
"""Where the runner stages the object an S3 URI ``methods.shap.baseline`` names (Clarify's image reads it from S3)."""
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
    shap = wanted["shap"] if isinstance(wanted.get("shap"), dict) else {}
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
            explained = _shap(model, features, names, root, shap)
            analysis["explanations"] = {"kernel_shap": {"label0": explained}}
    if len(analysis) == 1:
        raise ClarifyError("methods asks for none of pre_training_bias, post_training_bias, shap")
    (output / ANALYSIS_FILE).write_text(json.dumps(analysis, indent=2) + "\n", encoding="utf-8")
    notebook = clarify.report(analysis, str(shap.get("agg_method") or "mean_abs"))
    (output / "report.ipynb").write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    baseline = environment.get(BASELINE_KEY)
    if baseline:
        against = json.loads(Path(baseline).read_text(encoding="utf-8"))
        found = clarify.bias_violations(analysis, against) + clarify.attribution_violations(analysis, against)
        document = {"version": clarify.VERSION, "violations": found}
        (output / VIOLATIONS_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"analysis of {len(frame)} records: {', '.join(key for key in analysis if key != 'version')}")
    return 0


@dataclass(frozen=True)
class Served:
    """The staged model as the endpoint serves it: its last (XGBoost) container, and any containers before it."""

    model: LoadedModel
    front: tuple[ScriptedContainer, ...]

    def predict(self, rows: Any) -> Any:
        """The model's answer to each row: through the containers in sequence, as a text/csv request."""
        if not self.front:
            return self.model.predict(rows)
        from showcase.serving import codec
        from showcase.serving.containers import through

        try:
            body, content_type = through(self.front, _csv(rows), codec.CSV)
            return self.model.predict(codec.decode(body, codec.content_type_of(content_type), self.model.num_features))
        except codec.RequestError as exc:
            raise ClarifyError(f"the model cannot answer the dataset's records: {exc.message}") from None


def _csv(rows: Any) -> bytes:
    """Records as a text/csv request body: numbers written exactly, other values as they are."""
    return "\n".join(
        ",".join(repr(float(value)) if isinstance(value, int | float) else str(value) for value in row)
        for row in rows.tolist()
    ).encode()


def _model_and_features(
    root: Path, frame: Any, config: Mapping[str, Any], model_name: str
) -> tuple[Served, Any, list[str]]:
    """The staged model, loaded, and the records' features (every column but the label and the excluded)."""
    import pandas as pd

    from showcase.serving.containers import FrontSpec, load_front
    from showcase.serving.errors import ModelLoadError
    from showcase.serving.model import load_model

    if not (root / MODEL_CONFIG).exists():
        raise ClarifyError("no model was staged for the job: the step needs ModelName")
    staged = read_json(root / MODEL_CONFIG)
    try:
        model = load_model(
            root / MODEL / "model", model_package_arn=model_name, image=staged["Image"], unpickle=staged["Unpickle"]
        )
        specs = [FrontSpec.from_json(raw) for raw in staged["Front"]]
        front = load_front(replace(spec, model_dir=str(root / spec.model_dir)) for spec in specs)
    except ModelLoadError as exc:
        raise ClarifyError(str(exc)) from exc
    dropped = [str(config.get("label")), *[str(name) for name in config.get("excluded_columns") or []]]
    features = frame.drop(columns=[name for name in dropped if name in frame.columns])
    if not front and features.shape[1] != model.num_features:
        raise ClarifyError(
            f"the model takes {model.num_features} features, the dataset has {features.shape[1]} besides the label: "
            "list the others in excluded_columns"
        )
    numeric = all(pd.api.types.is_numeric_dtype(kind) for kind in features.dtypes)
    if not numeric and not front:
        raise ClarifyError("the XGBoost model takes numbers: every feature column of the dataset must be numeric")
    values = features.to_numpy(dtype=float) if numeric else features.to_numpy(dtype=object)
    return Served(model, front), values, [str(name) for name in features.columns]


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


def _shap(served: Served, features: Any, names: list[str], root: Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """Every record's SHAP values, written to out.csv unless ``save_local_shap_values`` is false; their global
    summary by ``agg_method``. One XGBoost container: XGBoost's own (``pred_contribs``, exact TreeSHAP); a model
    of several containers: KernelSHAP over its predictions (``monitoring.kernel_shap``), against the staged
    baseline file when ``baseline`` is an S3 URI."""
    import numpy as np
    import xgboost as xgb

    from showcase.errors import MonitoringError
    from showcase.monitoring import clarify, kernel_shap

    if served.front:
        try:
            values, expected = kernel_shap.explain(served.predict, features, names, config, _baseline_file(root))
        except MonitoringError as exc:
            raise ClarifyError(str(exc)) from None
    else:
        contributions = np.asarray(served.model.booster.predict(xgb.DMatrix(features), pred_contribs=True))
        values, bias = contributions[:, :-1], contributions[:, -1]
        expected = float(bias[0]) if bias.size else 0.0
    if config.get("save_local_shap_values", True):
        target = root / OUTPUT / SHAP_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [",".join(names), *(",".join(f"{value:.8g}" for value in row) for row in values)]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return clarify.global_shap(values, names, expected, str(config.get("agg_method", "mean_abs")))


def _baseline_file(root: Path) -> str | None:
    """The text of the baseline object the runner staged, if it staged one."""
    path = root / SHAP_BASELINE
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ClarifyError("shap.baseline is not UTF-8 text: give a CSV file of baseline rows") from None
