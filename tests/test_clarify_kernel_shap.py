"""ClarifyCheck's SHAP values of an inference pipeline (scikit-learn serving contract in front of XGBoost): KernelSHAP
over the pipeline's predictions, in its own job process, checked against closed forms.

The pipeline is additive: the front container doubles each feature, the XGBoost container is a booster of stumps
(``max_depth`` 1), so f(x) = c + sum g_i(x_i) and, for background rows b_k, the Shapley values are exactly
phi_i(x) = mean_k [f(b_k with x_i in place of its i-th value) - f(b_k)], with expected value mean_k f(b_k): computed
here with the booster alone, outside the serving path. For a linear f (``kernel_shap`` itself, below) that is
phi_i = w_i (x_i - mean_k b_ki).
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from showcase.archives import write_model_archive
from showcase.errors import MonitoringError, StepFailed
from showcase.local import run_definition
from showcase.monitoring import kernel_shap
from showcase.settings import Settings
from showcase.statuses import ExecutionStatus
from showcase.store import ObjectStore
from tests.serving_support import XGBOOST_IMAGE, train_booster
from tests.test_clarify_check import clarify_step
from tests.test_inference_pipelines import (
    ENVIRONMENT,
    SKLEARN_IMAGE,
    fitted,
    preprocessing_archive,
    raw_rows,
    run_step,
)

NAMES = ["a", "b", "c", "d"]
RAW_NAMES = ["sex", *(f"m{number}" for number in range(1, 8))]
BUCKET = "s3://showcase-local/explain"
DOUBLING = """
import numpy as np


def model_fn(model_dir):
    return 2.0


def predict_fn(data, model):
    return np.atleast_2d(data) * model
"""


def records(count: int = 40, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, len(NAMES))).round(3)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store holds the dataset (label first), the doubling container's archive and a gblinear booster's."""
    home = tmp_path_factory.mktemp("kernel-shap")
    store = ObjectStore(home / "store")
    rows = records()
    label = rows @ np.array([3.0, -2.0, 0.5, 0.0]) + 1.0
    lines = [
        ",".join(["y", *NAMES]),
        *(",".join(map(repr, [y, *row.tolist()])) for y, row in zip(label, rows, strict=True)),
    ]
    store.put_bytes(f"{BUCKET}/data/train.csv", ("\n".join(lines) + "\n").encode())
    work = home / "work"
    (work / "code").mkdir(parents=True)
    (work / "code" / "inference.py").write_text(textwrap.dedent(DOUBLING))
    archive = write_model_archive({"code/inference.py": work / "code" / "inference.py"}, work / "front.tar.gz")
    store.put_file(f"{BUCKET}/models/front/model.tar.gz", archive)
    params = {"objective": "reg:squarederror", "max_depth": 1, "nthread": 1, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(2.0 * rows, label=label), num_boost_round=20)
    (work / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    archive = write_model_archive([work / "xgboost-model"], work / "model.tar.gz")
    store.put_file(f"{BUCKET}/models/xgboost/model.tar.gz", archive)
    containers = [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": f"{BUCKET}/models/front/model.tar.gz", "Environment": ENVIRONMENT},
        {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{BUCKET}/models/xgboost/model.tar.gz"},
    ]
    arguments = {"Containers": containers, "InferenceExecutionConfig": {"Mode": "Serial"}}
    model = run_step(home, tmp_path_factory.mktemp("model"), "Model", "PipelineModel", arguments)
    (home / "model-name").write_text(model["ModelName"])
    return home


def pipeline(home: Path) -> Any:
    """The pipeline's prediction computed without it: the booster on the doubled features."""
    booster = xgb.Booster()
    booster.load_model(bytearray((home / "work" / "xgboost-model").read_bytes()))
    return lambda rows: np.asarray(booster.inplace_predict(2.0 * np.atleast_2d(rows)), dtype=float)


def additive_shap(f: Any, rows: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The exact Shapley values of an additive ``f`` against ``background`` (uniform weights)."""
    values = np.zeros(rows.shape)
    for i in range(rows.shape[1]):
        for b in background:
            swapped = np.repeat(b[None, :], len(rows), axis=0)
            swapped[:, i] = rows[:, i]
            values[:, i] += (f(swapped) - f(b)) / len(background)
    return values


def check_arguments(model_name: object, name: str, shap: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A MODEL_EXPLAINABILITY ClarifyCheck's arguments as ClarifyCheckStep writes them, and its analysis config."""
    config = {
        "dataset_type": "text/csv", "headers": ["y", *names], "label": "y", "methods": {"shap": shap},
        "predictor": {"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1,
                      "accept_type": "text/csv", "content_type": "text/csv"},
    }  # fmt: skip
    step = clarify_step(
        CheckType="MODEL_EXPLAINABILITY", ModelName=model_name, SkipCheck=True, RegisterNewBaseline=True
    )
    inputs = step["Arguments"]["ProcessingInputs"]
    inputs[0]["S3Input"]["S3Uri"] = f"{BUCKET}/{name}/analysis_config.json"
    inputs[1]["S3Input"]["S3Uri"] = f"{BUCKET}/data"
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = f"{BUCKET}/{name}/out"
    step["Name"], step["Config"] = name, json.dumps(config).encode()
    return step


def explain(
    home: Path, tmp_path: Path, name: str, shap: dict[str, Any], names: list[str] = NAMES
) -> tuple[dict[str, Any], np.ndarray]:
    """Run a MODEL_EXPLAINABILITY ClarifyCheck of the pipeline model: its analysis.json label0 and out.csv rows."""
    store = ObjectStore(home / "store")
    step = check_arguments((home / "model-name").read_text(), name, shap, names)
    store.put_bytes(f"{BUCKET}/{name}/analysis_config.json", step.pop("Config"))
    arguments = {key: value for key, value in step.items() if key not in ("Name", "Type")}
    arguments = {**arguments.pop("Arguments"), **arguments}
    properties = run_step(home, tmp_path, "ClarifyCheck", name, arguments)
    return outputs(store, name, properties["CalculatedBaselineConstraints"], names)


def outputs(store: ObjectStore, name: str, analysis_uri: str, names: list[str]) -> tuple[dict[str, Any], np.ndarray]:
    analysis = json.loads(store.get_bytes(analysis_uri))
    local = store.get_bytes(f"{BUCKET}/{name}/out/explanations_shap/out.csv").decode()
    assert local.splitlines()[0] == ",".join(names)
    return analysis["explanations"]["kernel_shap"]["label0"], np.loadtxt(io.StringIO(local), delimiter=",", skiprows=1)


def test_a_pipeline_of_a_pipeline_model_and_its_explainability_check_runs_to_succeeded(home: Path) -> None:
    containers = [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": f"{BUCKET}/models/front/model.tar.gz", "Environment": ENVIRONMENT},
        {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{BUCKET}/models/xgboost/model.tar.gz"},
    ]
    model = {"Name": "PipelineModel", "Type": "Model", "Arguments": {
        "ExecutionRoleArn": "arn:aws:iam::000000000000:role/r", "Containers": containers,
        "InferenceExecutionConfig": {"Mode": "Serial"}}}  # fmt: skip
    baseline = [0.0, 0.5, -0.5, 1.0]
    shap = {"baseline": [baseline], "num_samples": 14, "seed": 0, "agg_method": "mean_abs"}
    check = check_arguments({"Get": "Steps.PipelineModel.ModelName"}, "Explainability", shap, NAMES)
    uploads = {f"{BUCKET}/Explainability/analysis_config.json": check.pop("Config")}
    settings = Settings(home=home, input_data=None, max_parallel_steps=1)
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [model, check]}
    record = run_definition(definition, pipeline_name="ExplainPipeline", uploads=uploads, settings=settings)
    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    analysis_uri = record.step("Explainability").properties["CalculatedBaselineConstraints"]
    explained, local = outputs(ObjectStore(home / "store"), "Explainability", analysis_uri, NAMES)
    np.testing.assert_allclose(local, additive_shap(pipeline(home), records(), np.array([baseline])), atol=1e-4)
    assert explained["expected_value"] == pytest.approx(float(pipeline(home)(np.array(baseline))[0]), abs=1e-4)


def test_a_pipeline_models_kernel_shap_values_are_the_additive_models_closed_form(home: Path, tmp_path: Path) -> None:
    baseline = [0.5, -1.0, 2.0, 0.25]
    explained, local = explain(home, tmp_path, "closed", {"baseline": [baseline], "num_samples": 12, "seed": 3})
    f = pipeline(home)
    expected = additive_shap(f, records(), np.array([baseline]))
    assert local.shape == expected.shape and np.abs(expected).max() > 0.5
    np.testing.assert_allclose(local, expected, atol=1e-4)
    assert explained["expected_value"] == pytest.approx(float(f(np.array(baseline))[0]), abs=1e-4)
    assert list(explained["global_shap_values"]) == NAMES
    np.testing.assert_allclose(list(explained["global_shap_values"].values()), np.abs(expected).mean(axis=0), atol=1e-4)


def test_agg_method_makes_the_global_values_from_the_local_ones_as_defined(home: Path, tmp_path: Path) -> None:
    background = np.array([[0.0] * 4, [1.0, 1.0, -1.0, 0.5]])
    shap = {"baseline": background.tolist(), "num_samples": 14, "seed": 1, "agg_method": "median"}
    explained, local = explain(home, tmp_path, "median", shap)
    expected = additive_shap(pipeline(home), records(), background)
    np.testing.assert_allclose(local, expected, atol=1e-4)
    np.testing.assert_allclose(list(explained["global_shap_values"].values()), np.median(expected, axis=0), atol=1e-4)
    assert explained["global_shap_values"]["a"] != pytest.approx(float(np.abs(expected[:, 0]).mean()), abs=1e-3)
    report = json.loads(ObjectStore(home / "store").get_bytes(f"{BUCKET}/median/out/report.ipynb"))
    table = "".join(report["cells"][-1]["source"])
    assert "| feature | median SHAP |" in table and "mean abs" not in table


def test_without_a_baseline_the_background_is_k_means_of_the_dataset(home: Path, tmp_path: Path) -> None:
    explained, local = explain(home, tmp_path, "kmeans", {"num_clusters": 3, "num_samples": 14, "seed": 0})
    f, rows = pipeline(home), records()
    np.testing.assert_allclose(local.sum(axis=1) + explained["expected_value"], f(rows), atol=1e-4)  # efficiency
    against_first = additive_shap(f, rows, rows[:1])  # g_i(x_i) - g_i(first record's x_i)
    offsets = local - against_first  # g_i(first record's x_i) - E_background g_i: one number per feature
    np.testing.assert_allclose(offsets, np.broadcast_to(offsets[0], offsets.shape), atol=1e-4)
    assert not np.allclose(explained["expected_value"], f(rows).mean(), atol=1e-3)  # 3 centres, not every record


@pytest.mark.parametrize(
    ("shap", "reason"),
    [
        ({"baseline": [[0.0] * 4], "num_samples": 2}, "shap.num_samples 2 is too few for 4 features: "),
        ({"baseline": [[0.0] * 4, [1.0, 2.0, 3.0]]}, "shap.baseline row 2 has 3 values, the model's features are 4 "),
        ({"baseline": {"rows": [[0.0] * 4]}}, "shap.baseline {'rows': [[0.0, 0.0, 0.0, 0.0]]} is not read locally"),
    ],
)
def test_a_shap_config_that_cannot_be_honoured_fails_the_job_with_one_line(
    home: Path, tmp_path: Path, shap: dict[str, Any], reason: str
) -> None:
    with pytest.raises(StepFailed, match="shap") as failed:
        explain(home, tmp_path, "refused", shap)
    message = str(failed.value)
    assert reason in message and "\n" not in message and "Traceback" not in message


def test_a_baseline_given_as_an_s3_csv_file_gives_the_values_of_the_same_rows_inline(
    home: Path, tmp_path: Path
) -> None:
    background = np.array([[0.0, 0.5, -0.5, 1.0], [1.0, -1.0, 2.0, 0.25]])
    lines = [",".join(repr(value) for value in row) for row in background.tolist()]
    ObjectStore(home / "store").put_bytes(f"{BUCKET}/baselines/rows.csv", ("\n".join(lines) + "\n").encode())
    shap = {"num_samples": 14, "seed": 6}
    inline = explain(home, tmp_path, "inline", {**shap, "baseline": background.tolist()})
    from_file = explain(home, tmp_path, "s3-baseline", {**shap, "baseline": f"{BUCKET}/baselines/rows.csv"})
    np.testing.assert_array_equal(from_file[1], inline[1])
    assert from_file[0] == inline[0]
    np.testing.assert_allclose(from_file[1], additive_shap(pipeline(home), records(), background), atol=1e-4)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "the analysis config's shap.baseline s3://showcase-local/explain/baselines/bad.csv: no object at "),
        (b"0,0,0,0\n1,2,3\n", "shap.baseline s3://showcase-local/explain/baselines/bad.csv row 2 has 3 values, "),
        (b"a,b,c,d\n0,0,0,0\n", "shap.baseline s3://showcase-local/explain/baselines/bad.csv starts with a header"),
        (b"\n", "shap.baseline s3://showcase-local/explain/baselines/bad.csv holds no rows: "),
    ],
)
def test_a_baseline_file_that_is_missing_or_not_rows_of_the_features_fails_with_one_line(
    home: Path, tmp_path: Path, body: bytes | None, reason: str
) -> None:
    store, uri = ObjectStore(home / "store"), f"{BUCKET}/baselines/bad.csv"
    store.delete(uri)
    if body is not None:
        store.put_bytes(uri, body)
    with pytest.raises(StepFailed, match="shap") as failed:
        explain(home, tmp_path, "bad-baseline", {"baseline": uri, "num_samples": 14})
    message = str(failed.value)
    assert reason in message and "\n" not in message and "Traceback" not in message


def test_kernel_shap_of_a_linear_function_is_its_closed_form() -> None:
    rows, background = records(10), records(6, seed=9)
    weights = np.array([1.5, -0.5, 0.0, 2.0])
    config = {"baseline": background.tolist(), "num_samples": 14, "seed": 4}
    values, expected = kernel_shap.explain(lambda r: r @ weights + 1.0, rows, NAMES, config)
    np.testing.assert_allclose(values, weights * (rows - background.mean(axis=0)), atol=1e-9)
    assert expected == pytest.approx(float(background.mean(axis=0) @ weights + 1.0))


def logistic(rows: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(rows @ np.array([1.5, -0.5, 0.0, 2.0]) - 0.3)))


def test_use_logit_gives_values_in_log_odds_and_refuses_what_is_no_probability() -> None:
    rows = records(10)
    config = {"baseline": [[0.0] * 4], "num_samples": 14, "use_logit": True, "seed": 2}
    values, expected = kernel_shap.explain(logistic, rows, NAMES, config)
    np.testing.assert_allclose(values, rows * np.array([1.5, -0.5, 0.0, 2.0]), atol=1e-6)  # linear in log-odds
    assert expected == pytest.approx(-0.3)
    plain = kernel_shap.explain(logistic, rows, NAMES, {**config, "use_logit": False})[1]
    assert plain == pytest.approx(float(logistic(np.zeros((1, 4)))[0]))
    with pytest.raises(MonitoringError, match=r"use_logit needs predictions that are probabilities in \(0, 1\)"):
        kernel_shap.explain(lambda r: 10 * logistic(r), rows, NAMES, config)


@pytest.fixture(scope="module")
def encoded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inference pipeline as the showcase registers one: a fitted one-hot and scaling ColumnTransformer (the
    user's script, joblib) in front of a booster of 10 features; a dataset of the raw records (a letter first)."""
    home = tmp_path_factory.mktemp("kernel-shap-encoded")
    preprocessing_archive(home, fitted())
    booster = train_booster()
    work = home / "work"
    work.mkdir()
    (work / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    store = ObjectStore(home / "store")
    store.put_file(
        f"{BUCKET}/models/xgboost/model.tar.gz", write_model_archive([work / "xgboost-model"], work / "m.tgz")
    )
    lines = [",".join(["y", *RAW_NAMES]), *(f"{index % 7}.0,{row}" for index, row in enumerate(raw_rows(25)))]
    store.put_bytes(f"{BUCKET}/data/train.csv", ("\n".join(lines) + "\n").encode())
    containers = [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://showcase-local/models/preprocess/model.tar.gz",
         "Environment": ENVIRONMENT},
        {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{BUCKET}/models/xgboost/model.tar.gz"},
    ]  # fmt: skip
    arguments = {"Containers": containers, "InferenceExecutionConfig": {"Mode": "Serial"}}
    model = run_step(home, tmp_path_factory.mktemp("model"), "Model", "PipelineModel", arguments)
    (home / "model-name").write_text(model["ModelName"])
    return home


def test_a_pipeline_taking_a_letter_is_explained_from_baseline_rows_that_hold_one(
    encoded_home: Path, tmp_path: Path
) -> None:
    baseline = ["M", 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    explained, local = explain(
        encoded_home, tmp_path, "letter", {"baseline": [baseline], "num_samples": 60, "seed": 0}, RAW_NAMES
    )
    rows = [line.split(",") for line in raw_rows(25)]
    data = np.array([[row[0], *(float(v) for v in row[1:])] for row in rows], dtype=object)
    booster = train_booster()
    predicted = booster.inplace_predict(fitted().transform(data).astype(float))
    reference = float(booster.inplace_predict(fitted().transform(np.array([baseline], dtype=object)).astype(float))[0])
    assert explained["expected_value"] == pytest.approx(reference, abs=1e-4)
    np.testing.assert_allclose(local.sum(axis=1) + reference, predicted, atol=1e-3)  # efficiency: phi sums to f(x) - E
    assert local.shape == (25, 8) and np.abs(local[:, 0]).max() > 0  # the letter has its own value
    with pytest.raises(StepFailed, match="shap.baseline is missing and some features are not numbers: Clarify's "):
        explain(encoded_home, tmp_path, "letter-kmeans", {"num_samples": 60}, RAW_NAMES)
