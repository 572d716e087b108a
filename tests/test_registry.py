"""The local model registry: boto3 shapes, SageMaker semantics, concurrency and paging."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import RegistryError
from showcase.registry import Registry

GROUP = "crayonShowcasePackageGroup"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def register_request(status: str = "PendingManualApproval", **overrides: Any) -> dict[str, Any]:
    """The RegisterModel step's resolved Arguments, as the pipeline definition produces them."""
    request: dict[str, Any] = {
        "ModelPackageGroupName": GROUP,
        "ModelPackageDescription": "XGBoost regression of Abalone rings",
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": "s3://b/e/evaluation/evaluation.json",
                }
            },
            "Bias": {},
            "Explainability": {},
        },
        "CustomerMetadataProperties": {"ModelName": "crayonShowcase"},
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": IMAGE,
                    "Environment": {"SAGEMAKER_PROGRAM": "", "SAGEMAKER_REGION": "eu-west-1"},
                    "ModelDataUrl": "s3://b/e/model/job/output/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            "SupportedTransformInstanceTypes": ["ml.m5.large"],
        },
        "ModelApprovalStatus": status,
        "SkipModelValidation": "None",
    }
    request.update(overrides)
    return request


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def test_create_model_package_auto_creates_group(registry: Registry) -> None:
    response = registry.create_model_package(**register_request())
    arn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/crayonshowcasepackagegroup/1"
    assert response == {"ModelPackageArn": arn}
    group = registry.describe_model_package_group(ModelPackageGroupName=GROUP)
    assert group["ModelPackageGroupName"] == GROUP
    assert group["ModelPackageGroupArn"].endswith(":model-package-group/crayonshowcasepackagegroup")
    assert group["ModelPackageGroupStatus"] == "Completed"


def test_versions_count_from_one_per_group(registry: Registry) -> None:
    arns = [registry.create_model_package(**register_request())["ModelPackageArn"] for _ in range(3)]
    other = registry.create_model_package(**register_request(ModelPackageGroupName="other"))
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["1", "2", "3"]
    assert other["ModelPackageArn"].endswith("model-package/other/1")


def test_region_and_account_in_arns(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "r.sqlite", region="eu-west-1", account="123456789012")
    arn = registry.create_model_package(**register_request())["ModelPackageArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:123456789012:model-package/crayonshowcasepackagegroup/1"
    with pytest.raises(RegistryError, match="account must be 12 digits"):
        Registry(tmp_path / "r.sqlite", account="42")


def test_describe_model_package_by_arn_or_group_version(registry: Registry) -> None:
    arn = registry.create_model_package(**register_request("Approved"))["ModelPackageArn"]
    described = registry.describe_model_package(ModelPackageName=arn)
    assert described == registry.describe_model_package(ModelPackageName=f"{GROUP}/1")
    assert described["ModelPackageArn"] == arn
    assert described["ModelPackageGroupName"] == GROUP
    assert described["ModelPackageVersion"] == 1
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["InferenceSpecification"] == register_request()["InferenceSpecification"]
    assert described["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentType"] == "application/json"
    assert described["CustomerMetadataProperties"] == {"ModelName": "crayonShowcase"}
    created = described["CreationTime"]
    assert isinstance(created, datetime)
    assert created.tzinfo is not None
    assert "ClientToken" not in described


def test_describe_missing_or_malformed(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        registry.describe_model_package(ModelPackageName=f"{GROUP}/7")
    with pytest.raises(RegistryError, match="expected a model package ARN or '<group>/<version>'"):
        registry.describe_model_package(ModelPackageName=GROUP)
    with pytest.raises(RegistryError, match="belongs to eu-west-1/123456789012"):
        registry.describe_model_package(ModelPackageName="arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/1")
    with pytest.raises(RegistryError, match="model package group 'nope' does not exist"):
        registry.describe_model_package_group(ModelPackageGroupName="nope")


def test_metrics_and_lineage_are_kept(registry: Registry) -> None:
    metrics = {"regression_metrics": {"mse": {"value": 4.5}}}
    lineage = {"PipelineExecutionId": "abc123", "PipelineName": "p"}
    arn = registry.create_model_package(**register_request(), metrics=metrics, lineage=lineage)["ModelPackageArn"]
    assert registry.describe_model_package_extras(ModelPackageName=arn) == {
        "ModelPackageArn": arn,
        "Metrics": metrics,
        "Lineage": lineage,
    }
    with sqlite3.connect(registry.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = conn.execute("SELECT metrics FROM model_packages").fetchone()[0]
    assert '"value": 4.5' in stored


def test_bad_approval_status_names_the_allowed_values(registry: Registry) -> None:
    message = "ModelApprovalStatus must be one of PendingManualApproval, Approved, Rejected; got 'Aproved'"
    with pytest.raises(RegistryError, match=re.escape(message)):
        registry.create_model_package(**register_request("Aproved"))
    assert registry.list_model_packages()["ModelPackageSummaryList"] == []
    assert registry.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Bogus": 1}, "unknown parameter(s): Bogus"),
        ({"ModelPackageGroupName": "bad_name"}, "ModelPackageGroupName 'bad_name' is not a valid EntityName"),
        ({"ModelPackageGroupName": "-x"}, "ModelPackageGroupName '-x' is not a valid EntityName"),
        ({"InferenceSpecification": {"Containers": []}}, "Containers must be a non-empty list"),
        ({"InferenceSpecification": {"Containers": [{}]}}, "Containers[0].Image must be a string"),
        ({"ModelPackageDescription": "x" * 1025}, "at most 1024 characters"),
    ],
)
def test_create_model_package_rejects_bad_requests(registry: Registry, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistryError, match=re.escape(message)):
        registry.create_model_package(**register_request(**overrides))


def test_unversioned_packages_are_refused(registry: Registry) -> None:
    request = register_request()
    del request["ModelPackageGroupName"]
    with pytest.raises(RegistryError, match="instead of ModelPackageName"):
        registry.create_model_package(**request, ModelPackageName="solo")


def test_default_status_is_pending(registry: Registry) -> None:
    request = register_request()
    del request["ModelApprovalStatus"]
    arn = registry.create_model_package(**request)["ModelPackageArn"]
    assert registry.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_group_lifecycle(registry: Registry) -> None:
    arn = registry.create_model_package_group(ModelPackageGroupName="Beta", ModelPackageGroupDescription="d")
    assert arn == {"ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:000000000000:model-package-group/beta"}
    registry.create_model_package_group(ModelPackageGroupName="alpha", Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(RegistryError, match="'Beta' already exists"):
        registry.create_model_package_group(ModelPackageGroupName="Beta")
    with pytest.raises(RegistryError, match="does not support: Bogus"):
        registry.create_model_package_group(ModelPackageGroupName="gamma", Bogus=1)
    names = [g["ModelPackageGroupName"] for g in registry.list_model_package_groups()["ModelPackageGroupSummaryList"]]
    assert names == ["Beta", "alpha"]
    by_name = registry.list_model_package_groups(SortBy="Name", SortOrder="Descending", NameContains="BET")
    assert [g["ModelPackageGroupName"] for g in by_name["ModelPackageGroupSummaryList"]] == ["Beta"]
    assert registry.describe_model_package_group(ModelPackageGroupName="beta")["ModelPackageGroupDescription"] == "d"


def test_list_filters_and_sort_order(registry: Registry) -> None:
    for status in ["Approved", "Rejected", "Approved", "PendingManualApproval"]:
        registry.create_model_package(**register_request(status))
    registry.create_model_package(**register_request("Approved", ModelPackageGroupName="other"))

    def versions(**kwargs: Any) -> list[int]:
        response = registry.list_model_packages(ModelPackageGroupName=GROUP, **kwargs)
        return [summary["ModelPackageVersion"] for summary in response["ModelPackageSummaryList"]]

    assert versions() == [1, 2, 3, 4]  # Ascending is the default, as on SageMaker
    assert versions(ModelApprovalStatus="Approved") == [1, 3]
    assert versions(ModelApprovalStatus="Approved", SortOrder="Descending") == [3, 1]
    assert versions(SortBy="Name", SortOrder="Descending") == [4, 3, 2, 1]
    assert len(registry.list_model_packages()["ModelPackageSummaryList"]) == 5
    assert versions(ModelPackageType="Unversioned") == []
    summary = registry.list_model_packages(ModelPackageGroupName=GROUP, MaxResults=1)["ModelPackageSummaryList"][0]
    assert set(summary) == {
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    }
    times = [s["CreationTime"] for s in registry.list_model_packages()["ModelPackageSummaryList"]]
    assert times == sorted(times)
    assert registry.list_model_packages(CreationTimeAfter=datetime.now(timezone.utc)) == {"ModelPackageSummaryList": []}
    assert registry.list_model_packages(ModelPackageGroupName="missing") == {"ModelPackageSummaryList": []}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"SortOrder": "descending"}, "SortOrder must be one of Ascending, Descending"),
        ({"SortBy": "Version"}, "SortBy must be one of Name, CreationTime"),
        ({"MaxResults": 101}, "MaxResults must be a whole number from 1 to 100"),
        ({"MaxResults": 0}, "MaxResults must be a whole number from 1 to 100"),
        ({"NextToken": "garbage"}, "was not returned by this registry"),
        ({"ModelApprovalStatus": "approved"}, "ModelApprovalStatus must be one of"),
    ],
)
def test_list_rejects_bad_arguments(registry: Registry, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        registry.list_model_packages(**kwargs)


def test_paging_visits_every_package_once(registry: Registry) -> None:
    for _ in range(23):
        registry.create_model_package(**register_request())
    seen: list[int] = []
    pages = 0
    request: dict[str, Any] = {"ModelPackageGroupName": GROUP, "SortOrder": "Descending", "MaxResults": 5}
    while True:
        page = registry.list_model_packages(**request)
        pages += 1
        seen += [summary["ModelPackageVersion"] for summary in page["ModelPackageSummaryList"]]
        if "NextToken" not in page:
            break
        request["NextToken"] = page["NextToken"]
    assert pages == 5
    assert seen == list(range(23, 0, -1))


def test_update_approval(registry: Registry) -> None:
    arn = registry.create_model_package(**register_request())["ModelPackageArn"]
    before = registry.describe_model_package(ModelPackageName=arn)
    assert registry.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription="looks good",
        CustomerMetadataProperties={"Reviewer": "me"},
    ) == {"ModelPackageArn": arn}
    after = registry.describe_model_package(ModelPackageName=arn)
    assert after["ModelApprovalStatus"] == "Approved"
    assert after["ApprovalDescription"] == "looks good"
    assert after["CustomerMetadataProperties"] == {"ModelName": "crayonShowcase", "Reviewer": "me"}
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    assert after["CreationTime"] == before["CreationTime"]
    approved = registry.list_model_packages(ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved")
    assert [s["ModelPackageArn"] for s in approved["ModelPackageSummaryList"]] == [arn]


def test_update_errors(registry: Registry) -> None:
    arn = registry.create_model_package(**register_request())["ModelPackageArn"]
    with pytest.raises(RegistryError, match="must be one of PendingManualApproval, Approved, Rejected"):
        registry.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="OK")
    with pytest.raises(RegistryError, match="does not exist"):
        registry.update_model_package(ModelPackageArn=arn[:-1] + "9", ModelApprovalStatus="Approved")
    with pytest.raises(RegistryError, match="does not support: Nope"):
        registry.update_model_package(ModelPackageArn=arn, Nope=1)
    assert registry.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_works_with_the_deploy_side_lookup(registry: Registry) -> None:
    """The AWS adapter's latest-approved lookup accepts the local registry in place of a boto3 client."""
    from showcase.aws.registry import latest_approved_package

    for status in ["Approved", "Approved", "Rejected"]:
        registry.create_model_package(**register_request(status))
    newest = latest_approved_package(registry, GROUP, page_size=1)
    assert newest["ModelPackageVersion"] == 2


def _register_many(path: str, count: int, barrier: Any, results: Any) -> None:
    registry = Registry(path)
    barrier.wait()
    for _ in range(count):
        results.put(registry.create_model_package(**register_request())["ModelPackageArn"])


def test_concurrent_processes_get_distinct_consecutive_versions(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    processes, per_process = 6, 5
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=_register_many, args=(path, per_process, barrier, results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    arns = [results.get(timeout=60) for _ in range(processes * per_process)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    versions = sorted(int(arn.rsplit("/", 1)[1]) for arn in arns)
    assert versions == list(range(1, processes * per_process + 1))
    listed = Registry(path).list_model_packages(ModelPackageGroupName=GROUP, SortBy="CreationTime")
    assert [s["ModelPackageVersion"] for s in listed["ModelPackageSummaryList"]] == versions


def test_reading_does_not_wait_behind_a_writer(tmp_path: Path) -> None:
    """Opening an existing registry and listing it is a read: a writer holding the lock does not block it."""
    path = tmp_path / "registry.sqlite"
    Registry(path).create_model_package(**register_request("Approved"))
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        reader = Registry(path, busy_timeout_s=0.05)
        summaries = reader.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
        assert [s["ModelPackageVersion"] for s in summaries] == [1]
        with pytest.raises(RegistryError, match="locked"):
            reader.update_model_package(ModelPackageArn=summaries[0]["ModelPackageArn"], ModelApprovalStatus="Rejected")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _open_and_register(path: str, start: Any) -> int:
    start.wait()
    arn = Registry(path).create_model_package(**register_request())["ModelPackageArn"]
    return int(arn.rsplit("/", 1)[1])


def test_processes_opening_a_new_registry_at_once_all_succeed(tmp_path: Path) -> None:
    """The first opening switches the file to WAL, which SQLite refuses at once (no busy wait) under contention."""
    path = str(tmp_path / "fresh.sqlite")
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(8)
        with context.Pool(8) as pool:
            versions = pool.starmap(_open_and_register, [(path, start)] * 8)
    assert sorted(versions) == list(range(1, 9))
