"""The staging test (deploy/test_endpoint.py) against a real local endpoint through ``showcase-local api``: it
passes on a package whose registered MSE is what the endpoint's answers score, and fails, in one line, on a
registered MSE beyond the tolerance, on latency over the bound, and on a package that names no test split.

The registered MSE of the good package is computed here with XGBoost on the booster itself (not through the
endpoint), as the pipeline's evaluation step computes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from showcase.archives import write_model_archive
from showcase.deployment import staging
from showcase.errors import UsageError
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.api.conftest import Api, start_api, stop_api
from tests.serving_support import NUM_FEATURES, XGBOOST_IMAGE, train_booster

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "test_endpoint.py"
WAIT = {"Delay": 1, "MaxAttempts": 120}


def split_rows() -> tuple[np.ndarray, np.ndarray, str]:
    """Labels, features and the CSV text (label first) of 60 rows from the booster's own distribution."""
    rng = np.random.default_rng(11)
    features = rng.normal(size=(60, NUM_FEATURES)).astype(np.float32)
    labels = np.round(10.0 + 3.0 * features[:, 0] - 2.0 * features[:, 1] + rng.normal(size=60))
    text = "".join(
        ",".join([f"{label:g}", *(f"{v:.6f}" for v in row)]) + "\n" for label, row in zip(labels, features, strict=True)
    )
    parsed = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float64)
    return parsed[:, 0], parsed[:, 1:].astype(np.float32), text


def register(home: Path, booster: xgb.Booster, mse: float | None, *, test_data: bool = True, tag: str) -> str:
    """A package as the pipeline registers it: the model, its evaluation report and the test split it names."""
    store = ObjectStore(home / "store")
    work = home / "work" / tag
    work.mkdir(parents=True)
    (work / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    model = store.put_file(
        f"s3://staging-bucket/{tag}/model.tar.gz", write_model_archive([work / "xgboost-model"], work / "m.tgz")
    )
    evaluation = store.put_bytes(
        f"s3://staging-bucket/{tag}/evaluation/evaluation.json",
        json.dumps({"regression_metrics": {"mse": {"value": mse}}}).encode(),
    )
    split = store.put_bytes(f"s3://staging-bucket/{tag}/data/test/test.csv", split_rows()[2].encode())
    request: dict[str, Any] = {
        "ModelPackageGroupName": "StagingGroup",
        "InferenceSpecification": {
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": model}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": "Approved",
        "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation}}},
    }
    if test_data:
        request["CustomerMetadataProperties"] = {"TestData": split.rsplit("/", 1)[0]}
    return str(Registry(home / "registry.sqlite").create_model_package(**request)["ModelPackageArn"])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("staging-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


@pytest.fixture(scope="module")
def endpoints(api: Api) -> dict[str, str]:
    """Endpoints over a package that tells the truth, one whose registered MSE is 30 % off, one with no TestData."""
    booster = train_booster(0.0)
    labels, features, _ = split_rows()
    truth = float(np.mean((labels - booster.inplace_predict(features)) ** 2))
    packages = {
        "good": register(api.home, booster, truth, tag="good"),
        "off": register(api.home, booster, truth * 1.3, tag="off"),
        "untold": register(api.home, booster, truth, test_data=False, tag="untold"),
    }
    sagemaker: Any = api.client("sagemaker")
    for name, arn in packages.items():
        sagemaker.create_model(ModelName=f"staging-{name}", PrimaryContainer={"ModelPackageName": arn})
        variant = {"VariantName": "AllTraffic", "ModelName": f"staging-{name}", "InitialInstanceCount": 1,
                   "InstanceType": "ml.m5.large"}  # fmt: skip
        sagemaker.create_endpoint_config(EndpointConfigName=f"staging-{name}", ProductionVariants=[variant])
        sagemaker.create_endpoint(EndpointName=f"staging-{name}", EndpointConfigName=f"staging-{name}")
    for name in packages:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=f"staging-{name}", WaiterConfig=WAIT)
    return packages


def staging_test(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=api.env(), capture_output=True, text=True, timeout=300
    )


def test_a_package_whose_metrics_the_endpoint_matches_passes(api: Api, endpoints: dict[str, str]) -> None:
    result = staging_test(api, "--endpoint-name", "staging-good", "--model-package-arn", endpoints["good"])
    assert result.returncode == 0, result.stderr
    summary, verdict = result.stdout.splitlines()
    assert summary.startswith(f"endpoint staging-good variant AllTraffic ({endpoints['good']}): 60 rows in 12 requests")
    difference = float(summary.split("(difference ")[1].split("%")[0])
    assert difference < 1e-4  # percent: the same model on the same rows, through CSV text both ways
    assert verdict == "staging test of variant AllTraffic: passed"


def test_a_registered_mse_beyond_the_tolerance_fails(api: Api, endpoints: dict[str, str]) -> None:
    result = staging_test(api, "--endpoint-name", "staging-off")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: staging test of endpoint 'staging-off' failed: variant AllTraffic: MSE ")
    assert "by 23.08%, more than the tolerance 1.00%" in line
    assert staging_test(api, "--endpoint-name", "staging-off", "--mse-tolerance", "0.3").returncode == 0


def test_latency_over_the_bound_fails(api: Api, endpoints: dict[str, str]) -> None:
    result = staging_test(api, "--endpoint-name", "staging-good", "--p99-latency-ms", "0.001")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert " is over the bound 0.001 ms" in line and "MSE" not in line


def test_what_the_staging_test_cannot_judge_is_one_line(api: Api, endpoints: dict[str, str]) -> None:
    untold = staging_test(api, "--endpoint-name", "staging-untold")
    assert untold.returncode == 2
    assert untold.stderr.splitlines() == [
        f"error: model package {endpoints['untold']} names no test split (CustomerMetadataProperties.TestData, "
        "which the pipeline's RegisterModel step writes); pass --test-data s3://... to name it"
    ]
    named = staging_test(api, "--endpoint-name", "staging-untold", "--test-data", "s3://staging-bucket/good/data/test")
    assert named.returncode == 0, named.stderr
    other = staging_test(api, "--endpoint-name", "staging-good", "--model-package-arn", endpoints["off"])
    assert other.returncode == 1 and f"not {endpoints['off']}" in other.stderr
    missing = staging_test(api, "--endpoint-name", "no-such-endpoint")
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert "DescribeEndpoint for endpoint 'no-such-endpoint' failed: ValidationException" in missing.stderr


# --- the judgement alone ------------------------------------------------------------------------------------


def test_nearest_rank_p99_is_the_slowest_below_100_requests_and_the_second_slowest_at_125() -> None:
    assert staging.nearest_rank([float(v) for v in range(1, 33)], 99) == 32.0
    assert staging.nearest_rank([float(v) for v in range(1, 126)], 99) == 124.0
    assert staging.nearest_rank([5.0], 99) == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no rows"),
        ("10,1,2\n11,1\n", "row 2 has 2 values, expected 3"),
        ("10\n", "row 1 has 1 values, expected 1 \\(a label, then features\\)"),
        ("rings,length\n10,1\n", "row 1 is not all numbers: 'rings,length'"),
    ],
)
def test_a_split_that_is_not_the_pipeline_s_is_one_line(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        staging.parse_test_split(text, "s3://b/test")


def test_the_verdict_names_each_problem() -> None:
    split = staging.parse_test_split("10,1\n12,2\n", "split")
    assert split.rows == ["1", "2"] and split.labels == [10.0, 12.0]
    verdict = staging.judge(split, [11.0, 12.0], [3.0, 4.0], registered=0.5, tolerance=0.01, p99_bound_ms=10)
    assert (verdict.mse, verdict.problems) == (0.5, [])
    slow_and_wrong = staging.judge(split, [10.0, 10.0], [3.0, 40.0], registered=0.5, p99_bound_ms=10)
    assert slow_and_wrong.problems == [
        "MSE 2 on the test split differs from the registered 0.5 by 300.00%, more than the tolerance 1.00%",
        "p99 latency 40.0 ms is over the bound 10 ms",
    ]
