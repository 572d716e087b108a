"""Check steps in a pipeline built with the SDK v3 (tests/check_pipeline.py), run by the real CLI on the real
Abalone data with real XGBoost: a model-quality QualityCheck on a transform's label,prediction output, and
ClarifyCheck steps for data bias, model bias and explainability, registered in ModelMetrics and DriftCheckBaselines;
then baselines that the new results violate fail the check steps, with constraint_violations.json written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from showcase.monitoring.quality_runs import baseline_constraints
from showcase.settings import load
from showcase.store import ObjectStore
from tests.check_pipeline import GROUP
from tests.test_local_e2e import packages, run_local

pytestmark = pytest.mark.e2e
BUCKET = "s3://showcase-local/checks"


def run_checks(home: Path, data: Path, *parameters: str) -> Any:
    flags = [flag for parameter in parameters for flag in ("-p", parameter)]
    return run_local(home, "-n", "tests.check_pipeline", "-k", json.dumps({"data": str(data)}), *flags)


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, abalone_path: Path) -> Path:
    home = tmp_path_factory.mktemp("checks")
    result = run_checks(home, abalone_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def read(home: Path, uri: str) -> Any:
    return json.loads(ObjectStore(load(home).store_root).get_bytes(uri))


def test_the_checks_run_to_succeeded_in_model_monitors_and_clarifys_formats(checked: Path) -> None:
    statistics = read(checked, f"{BUCKET}/model-quality/statistics.json")
    assert set(statistics["regression_metrics"]) == {"mae", "mse", "rmse", "r2"}
    assert statistics["dataset"]["item_count"] == 626  # the test split's rows, each a label and its prediction
    assert read(checked, f"{BUCKET}/model-quality/constraints.json")["regression_constraints"]["r2"] == {
        "threshold": statistics["regression_metrics"]["r2"]["value"],
        "comparison_operator": "LessThanThreshold",
    }
    data_bias = read(checked, f"{BUCKET}/data-bias/analysis.json")
    (infants,) = data_bias["pre_training_bias_metrics"]["facets"]["sex_I"]
    assert infants["value_or_threshold"] == "1"
    assert [m["name"] for m in infants["metrics"]] == ["CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]  # no group: no CDDL
    by_name = {m["name"]: m["value"] for m in infants["metrics"]}
    assert by_name["DPL"] > 0.3  # few infants have 10 rings or more
    model_bias = read(checked, f"{BUCKET}/model-bias/analysis.json")
    (predicted,) = model_bias["post_training_bias_metrics"]["facets"]["sex_I"]
    assert [m["name"] for m in predicted["metrics"]] == [
        "AD",
        "DAR",
        "DCA",
        "DCR",
        "DI",
        "DPPL",
        "DRR",
        "FT",
        "RD",
        "TE",
    ]
    assert (
        0 <= {m["name"]: m["value"] for m in predicted["metrics"]}["DI"] < 1
    )  # infants are predicted older less often
    explained = read(checked, f"{BUCKET}/explainability/analysis.json")["explanations"]["kernel_shap"]["label0"]
    assert list(explained["global_shap_values"]) == [
        "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight", "sex_F",
        "sex_I", "sex_M",
    ]  # fmt: skip
    store = ObjectStore(load(checked).store_root)
    rows = store.get_bytes(f"{BUCKET}/explainability/explanations_shap/out.csv").decode().splitlines()
    assert len(rows) == 1 + 2924 and rows[0].startswith("length,diameter,")
    report = json.loads(store.get_bytes(f"{BUCKET}/data-bias/report.ipynb"))
    assert report["nbformat"] == 4 and "Class Imbalance (CI)" in "".join(report["cells"][1]["source"])
    # The analysis config the SDK uploaded while building the definition is what the job read.
    config = read(checked, f"{BUCKET}/model-bias/analysis_config.json")
    assert config["methods"]["post_training_bias"] == {"methods": "all"}
    assert config["probability_threshold"] == 9.5


def test_the_registered_package_names_every_checks_baselines(checked: Path) -> None:
    (package,) = packages(checked, group=GROUP)
    metrics, drift = package["ModelMetrics"], package["DriftCheckBaselines"]
    assert metrics["ModelQuality"]["Statistics"]["S3Uri"] == f"{BUCKET}/model-quality/statistics.json"
    assert metrics["ModelQuality"]["Constraints"]["S3Uri"] == f"{BUCKET}/model-quality/constraints.json"
    assert metrics["Bias"]["PreTrainingReport"]["S3Uri"] == f"{BUCKET}/data-bias/analysis.json"
    assert metrics["Bias"]["PostTrainingReport"]["S3Uri"] == f"{BUCKET}/model-bias/analysis.json"
    assert metrics["Explainability"]["Report"]["S3Uri"] == f"{BUCKET}/explainability/analysis.json"
    assert drift["ModelQuality"]["Constraints"]["S3Uri"] == f"{BUCKET}/model-quality/constraints.json"
    assert drift["Bias"]["PreTrainingConstraints"]["S3Uri"] == f"{BUCKET}/data-bias/analysis.json"
    assert drift["Bias"]["PostTrainingConstraints"]["S3Uri"] == f"{BUCKET}/model-bias/analysis.json"
    assert drift["Explainability"]["Constraints"]["S3Uri"] == f"{BUCKET}/explainability/analysis.json"


def edited(home: Path, source: str, target: str, change: Any) -> str:
    document = read(home, source)
    change(document)
    uri = f"s3://showcase-local/edited/{target}"
    ObjectStore(load(home).store_root).put_bytes(uri, json.dumps(document).encode())
    return uri


def test_a_supplied_model_quality_baseline_the_predictions_break_fails_the_step(
    checked: Path, abalone_path: Path
) -> None:
    """mse, rmse and mae held to half the baseline's: the same model breaks all three. The data-bias check, with no
    baseline supplied, checks against the approved package's and passes."""

    def tighten(constraints: dict[str, Any]) -> None:
        for name in ("mae", "mse", "rmse"):
            constraints["regression_constraints"][name]["threshold"] /= 2

    constraints = edited(checked, f"{BUCKET}/model-quality/constraints.json", "constraints.json", tighten)
    result = run_checks(
        checked,
        abalone_path,
        "SkipChecks=false",
        f"QualityStatistics={BUCKET}/model-quality/statistics.json",
        f"QualityConstraints={constraints}",
    )
    assert result.returncode == 1
    assert (
        "step 'ModelQuality' failed: the model-quality check found 3 violation(s) against the baseline "
        f"{constraints}: mae GreaterThanThreshold; mse GreaterThanThreshold; rmse GreaterThanThreshold "
        f"(see {BUCKET}/model-quality/constraint_violations.json)"
    ) in result.stdout + result.stderr
    violations = read(checked, f"{BUCKET}/model-quality/constraint_violations.json")["violations"]
    assert sorted(v["metric_name"] for v in violations) == ["mae", "mse", "rmse"]
    assert read(checked, f"{BUCKET}/data-bias/constraint_violations.json")["violations"] == []


def test_a_bias_metric_over_its_baselines_value_fails_the_data_bias_check(checked: Path, abalone_path: Path) -> None:
    def lower_ci(analysis: dict[str, Any]) -> None:
        for metric in analysis["pre_training_bias_metrics"]["facets"]["sex_I"][0]["metrics"]:
            if metric["name"] == "CI":
                metric["value"] = 0.1

    baseline = edited(checked, f"{BUCKET}/data-bias/analysis.json", "analysis.json", lower_ci)
    result = run_checks(checked, abalone_path, "SkipChecks=false", f"DataBiasConstraints={baseline}")
    assert result.returncode == 1
    assert (
        f"step 'DataBias' failed: the data bias check found 1 violation(s) against the baseline {baseline}: "
        f"sex_I 1 CI (see {BUCKET}/data-bias/constraint_violations.json)"
    ) in result.stdout + result.stderr
    (violation,) = read(checked, f"{BUCKET}/data-bias/constraint_violations.json")["violations"]
    assert violation["facet"] == "sex_I" and violation["facet_value"] == "1" and violation["metric_name"] == "CI"
    assert violation["constraint_check_type"] == "bias_drift_check"


def test_the_showcase_pipelines_model_quality_baseline_is_what_the_package_carries(
    tmp_path: Path, abalone_path: Path
) -> None:
    """``-k '{"model_quality_baseline": true}'``: the test split's predictions, batch transformed, measured by a
    model-quality QualityCheck; the package's ModelMetrics and DriftCheckBaselines name its files, and its metrics
    are those the evaluation step computed of the same model on the same rows."""
    result = run_local(tmp_path, "-n", "showcase.pipeline", "-k", '{"model_quality_baseline": true}', data=abalone_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ModelQualityBaseline  QualityCheck   Succeeded" in result.stdout
    (package,) = packages(tmp_path)
    statistics_uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert statistics_uri.endswith("/model-quality-baseline/statistics.json")
    drift = package["DriftCheckBaselines"]["ModelQuality"]
    assert drift["Constraints"]["S3Uri"] == statistics_uri.replace("statistics.json", "constraints.json")
    assert "ModelDataQuality" in package["DriftCheckBaselines"]  # the data-quality baseline is still there
    measured = read(tmp_path, statistics_uri)["regression_metrics"]
    report = package["CustomerMetadataProperties"]["EvaluationReport"]
    evaluated = read(tmp_path, report.replace("report.html", "evaluation.json"))["regression_metrics"]
    for name in ("mse", "rmse", "mae", "r2"):
        assert measured[name]["value"] == pytest.approx(evaluated[name]["value"], rel=1e-6), name
    # What the endpoint's model-quality monitoring (showcase monitor run --ground-truth) checks against.
    constraints, source = baseline_constraints(ObjectStore(load(tmp_path).store_root), package, None)
    assert source == drift["Constraints"]["S3Uri"]
    assert constraints["regression_constraints"]["mse"]["threshold"] == measured["mse"]["value"]
