"""The model registry and models through boto3: the same SQLite registry the CLI and the dashboard read."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase.registry import Registry
from showcase.settings import load
from tests.api.conftest import Api

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def inference(uri: str) -> dict[str, Any]:
    return {
        "Containers": [{"Image": IMAGE, "ModelDataUrl": uri}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


@pytest.fixture()
def sagemaker(api: Api) -> Any:
    return api.client("sagemaker")


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_groups_are_created_described_and_listed(api: Api, sagemaker: Any) -> None:
    arn = sagemaker.create_model_package_group(ModelPackageGroupName="Group-B", ModelPackageGroupDescription="b")[
        "ModelPackageGroupArn"
    ]
    sagemaker.create_model_package_group(ModelPackageGroupName="Group-A")
    assert arn.endswith(":model-package-group/group-b")
    described = sagemaker.describe_model_package_group(ModelPackageGroupName="Group-B")
    assert (described["ModelPackageGroupStatus"], described["ModelPackageGroupDescription"]) == ("Completed", "b")
    names = sagemaker.list_model_package_groups(NameContains="group-", SortBy="Name", SortOrder="Ascending")
    assert [g["ModelPackageGroupName"] for g in names["ModelPackageGroupSummaryList"]] == ["Group-A", "Group-B"]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model_package_group(ModelPackageGroupName="Group-B")
    assert error(caught) == ("ValidationException", "model package group 'Group-B' already exists")
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model_package_group(ModelPackageGroupName="Group-None")
    assert error(caught)[0] == "ValidationException" and "does not exist" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.list_model_package_groups(CrossAccountFilterOption="CrossAccount")
    assert error(caught) == (
        "ValidationException",
        "ListModelPackageGroups: the local registry does not support CrossAccountFilterOption",
    )


def test_packages_are_registered_listed_filtered_approved(api: Api, sagemaker: Any) -> None:
    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName="Versions", InferenceSpecification=inference(f"s3://b/model-{n}.tar.gz"),
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
        for n in range(3)
    ]  # fmt: skip
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["1", "2", "3"]
    newest = sagemaker.list_model_packages(ModelPackageGroupName="Versions", SortOrder="Descending", MaxResults=1)
    assert newest["ModelPackageSummaryList"][0]["ModelPackageArn"] == arns[2] and "NextToken" in newest
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName="Versions", PaginationConfig={"PageSize": 2}
    )
    assert [p["ModelPackageArn"] for page in pages for p in page["ModelPackageSummaryList"]] == arns
    sagemaker.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved", ApprovalDescription="ok")
    approved = sagemaker.list_model_packages(ModelPackageGroupName="Versions", ModelApprovalStatus="Approved")
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [arns[1]]
    described = sagemaker.describe_model_package(ModelPackageName=arns[1])
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "ok")
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == "s3://b/model-1.tar.gz"
    local = Registry.from_settings(load(api.home)).describe_model_package(ModelPackageName=arns[1])
    assert local["ModelApprovalStatus"] == "Approved"  # the home's registry: what the CLI and dashboard show
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Approve")
    assert error(caught)[0] == "ValidationException" and "ModelApprovalStatus" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model_package(ModelPackageName=arns[0].replace("/1", "/9"))
    assert error(caught)[0] == "ValidationException" and "does not exist" in error(caught)[1]


def test_models_name_an_image_or_a_model_package(sagemaker: Any) -> None:
    package = sagemaker.create_model_package(
        ModelPackageGroupName="ForModels", InferenceSpecification=inference("s3://b/m.tar.gz")
    )["ModelPackageArn"]
    sagemaker.create_model(ModelName="from-package", PrimaryContainer={"ModelPackageName": package})
    sagemaker.create_model(
        ModelName="from-image", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"},
        ExecutionRoleArn="arn:aws:iam::000000000000:role/r",
    )  # fmt: skip
    assert sagemaker.describe_model(ModelName="from-package")["PrimaryContainer"] == {"ModelPackageName": package}
    assert sagemaker.describe_model(ModelName="from-image")["ModelArn"].endswith(":model/from-image")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model(ModelName="from-package", PrimaryContainer={"ModelPackageName": package})
    assert error(caught)[0] == "ValidationException" and "already existing" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model(ModelName="nothing", PrimaryContainer={"Environment": {}})
    assert error(caught)[0] == "ValidationException" and "Image" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model(ModelName="never-made")
    assert error(caught)[0] == "ValidationException"
