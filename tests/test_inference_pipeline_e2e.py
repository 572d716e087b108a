"""The showcase pipeline with ``inference_pipeline=True``, run by the real CLI on the real Abalone data: PrepareData
also writes the preprocessing container's model, RegisterModel registers both containers, and the deployed
endpoint answers the raw record (sex as a letter) as the XGBoost model alone answers PrepareData's encoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from showcase.archives import extract_model_archive
from showcase.registry import Registry
from showcase.serving.app import EndpointApp
from showcase.serving.containers import FrontSpec, load_front, through
from showcase.settings import load
from showcase.store import ObjectStore
from tests.definition_fixture import FIXTURE, ROLE, masked
from tests.test_local_e2e import GROUP, REPO, packages, run_local
from tests.test_serving_app import deploy, invoke

pytestmark = pytest.mark.e2e
RAW_SAMPLE = REPO / "predict" / "sample_payload_raw.csv"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, abalone_path: Path) -> Path:
    home = tmp_path_factory.mktemp("inference-pipeline-e2e")
    result = run_local(home, "-n", "showcase.pipeline", "-k", '{"inference_pipeline": true}', data=abalone_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (home / "run.out").write_text(result.stdout)
    return home


def test_the_kwarg_off_builds_the_default_definition_byte_for_byte() -> None:
    """As tests/test_definition.py compares them: code uploads are named by their content's digest, masked."""
    from showcase.pipeline import get_pipeline

    built = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="showcase-bucket", inference_pipeline=False)
    assert masked(json.loads(built.definition())) == masked(json.loads(FIXTURE.read_text()))


def test_the_registered_package_is_the_preprocessing_container_then_xgboost(home: Path) -> None:
    (package,) = packages(home, GROUP)
    first, second = package["InferenceSpecification"]["Containers"]
    assert "/sagemaker-scikit-learn:" in first["Image"] and "/sagemaker-xgboost:" in second["Image"]
    assert first["ModelDataUrl"].endswith("/data/preprocessing_model/model.tar.gz")
    assert first["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert f"  model: {second['ModelDataUrl']}\n" in (home / "run.out").read_text()  # the XGBoost model, last
    from showcase.dashboard.local_source import LocalSource

    assert LocalSource(load(home)).package(GROUP, 1).model_data_url == second["ModelDataUrl"]


def _test_split(home: Path, package: dict[str, Any]) -> list[str]:
    """The test split's rows as PrepareData wrote them (label first)."""
    test_uri = package["CustomerMetadataProperties"]["TestData"]
    store = ObjectStore(load(home).store_root)
    return store.get_bytes(test_uri.rstrip("/") + "/test.csv").decode().splitlines()


def _raw_test_rows(abalone_path: Path, count: int) -> list[str]:
    """The raw records of the test split's first rows: PrepareData's seeded split of abalone.data (seed 42)."""
    from showcase.preprocess import split_indices

    lines = abalone_path.read_text().splitlines()
    order = split_indices(len(lines), 42)["test"][:count]
    return [",".join(lines[index].split(",")[:8]) for index in order]


def test_the_preprocessing_container_writes_prepare_datas_encoding_byte_for_byte(
    home: Path, abalone_path: Path, tmp_path: Path
) -> None:
    (package,) = packages(home, GROUP)
    first = package["InferenceSpecification"]["Containers"][0]
    extract_model_archive(ObjectStore(load(home).store_root).path_of(first["ModelDataUrl"]), tmp_path / "model")
    front = load_front([FrontSpec("preprocessing", str(tmp_path / "model"), first["Environment"])])
    encoded, content_type = through(front, "\n".join(_raw_test_rows(abalone_path, 50)).encode(), "text/csv")
    expected = [row.split(",", 1)[1] for row in _test_split(home, package)[:50]]
    assert (encoded.decode().splitlines(), content_type) == (expected, "text/csv")


def test_the_endpoint_answers_the_raw_record_as_the_encoded_one(home: Path, abalone_path: Path) -> None:
    (package,) = packages(home, GROUP)
    rows = 40
    encoded = "\n".join(row.split(",", 1)[1] for row in _test_split(home, package)[:rows])
    alone = Registry(load(home).registry_path).create_model_package(
        ModelPackageGroupName="XGBoostAlone",
        InferenceSpecification={"Containers": package["InferenceSpecification"]["Containers"][1:]},
        ModelApprovalStatus="Approved",
    )
    paths = deploy(home, alone["ModelPackageArn"])
    reference = invoke(EndpointApp.from_home(paths, ObjectStore(load(home).store_root)), encoded)
    deploy(home, package["ModelPackageArn"])
    app = EndpointApp.from_home(paths, ObjectStore(load(home).store_root))
    answer = invoke(app, "\n".join(_raw_test_rows(abalone_path, rows)), content_type="text/csv")
    assert answer[0] == reference[0] == 200
    assert answer[2] == reference[2] and len(answer[2].splitlines()) == rows
    sample = invoke(app, RAW_SAMPLE.read_bytes(), content_type="text/csv")
    assert sample[0] == 200 and len(sample[2].splitlines()) == len(RAW_SAMPLE.read_text().splitlines()) == 5
    status, _, body = invoke(app, "X,0.455,0.365,0.095,0.514,0.2245,0.101,0.15", content_type="text/csv")
    assert status == 500 and b"record 1: expected the sex (F, I, M) then 7 measurements" in body
