"""Create/Update/Describe/List/DeletePipeline through boto3: what is kept under the home, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Api
from tests.api.definitions import BUCKET, ROLE, gated, put_scripts

TOKEN = "create-twice-0000000000000000000001"


@pytest.fixture()
def sagemaker(api: Api) -> Any:
    return api.client("sagemaker")


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_create_describe_update_delete(api: Api, sagemaker: Any) -> None:
    arn = sagemaker.create_pipeline(
        PipelineName="Crud-Pipeline", PipelineDefinition=gated(5.0), RoleArn=ROLE, PipelineDescription="v1",
        Tags=[{"Key": "team", "Value": "ml"}],
    )["PipelineArn"]  # fmt: skip
    assert arn.endswith(":pipeline/crud-pipeline")
    stored = json.loads((api.home / "pipelines" / "Crud-Pipeline.json").read_text())
    assert json.loads(stored["PipelineDefinition"]) == json.loads(gated(5.0))
    described = sagemaker.describe_pipeline(PipelineName="Crud-Pipeline")
    assert (described["PipelineStatus"], described["PipelineDescription"], described["RoleArn"]) == (
        "Active",
        "v1",
        ROLE,
    )
    assert "LastRunTime" not in described
    assert sagemaker.describe_pipeline(PipelineName=arn)["PipelineName"] == "Crud-Pipeline"  # by ARN too
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    updated = sagemaker.update_pipeline(
        PipelineName="Crud-Pipeline", PipelineDefinition=gated(1.0), PipelineDescription="v2"
    )
    assert updated == {**updated, "PipelineArn": arn, "PipelineVersionId": 2}
    described = sagemaker.describe_pipeline(PipelineName="Crud-Pipeline")
    assert json.loads(described["PipelineDefinition"]) == json.loads(gated(1.0))
    assert described["PipelineDescription"] == "v2" and described["LastModifiedTime"] > described["CreationTime"]
    sagemaker.delete_pipeline(PipelineName="Crud-Pipeline")
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_pipeline(PipelineName="Crud-Pipeline")
    assert error(caught) == ("ResourceNotFound", f"Pipeline '{arn}' does not exist.")


def test_a_name_that_exists_is_refused_as_the_sdks_upsert_expects(sagemaker: Any) -> None:
    sagemaker.create_pipeline(
        PipelineName="Twice", PipelineDefinition=gated(5.0), RoleArn=ROLE, ClientRequestToken=TOKEN
    )
    again = sagemaker.create_pipeline(
        PipelineName="Twice", PipelineDefinition=gated(5.0), RoleArn=ROLE, ClientRequestToken=TOKEN
    )  # the same request again (botocore's retry): the same answer
    assert again["PipelineArn"].endswith(":pipeline/twice")
    for name in ("Twice", "twice"):
        with pytest.raises(ClientError) as caught:
            sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=gated(5.0), RoleArn=ROLE)
        code, message = error(caught)
        assert code == "ValidationException" and "already exists" in message


def test_a_definition_uploaded_to_s3_is_read_from_the_store(api: Api, sagemaker: Any) -> None:
    s3: Any = api.client("s3")
    put_scripts(s3)
    s3.put_object(Bucket=BUCKET, Key="Large/definition.json", Body=gated(3.0).encode())
    sagemaker.create_pipeline(
        PipelineName="FromS3", RoleArn=ROLE,
        PipelineDefinitionS3Location={"Bucket": BUCKET, "ObjectKey": "Large/definition.json"},
    )  # fmt: skip
    described = sagemaker.describe_pipeline(PipelineName="FromS3")
    assert json.loads(described["PipelineDefinition"]) == json.loads(gated(3.0))
    with pytest.raises(ClientError) as caught:
        sagemaker.create_pipeline(
            PipelineName="FromS3Missing", RoleArn=ROLE,
            PipelineDefinitionS3Location={"Bucket": BUCKET, "ObjectKey": "no/such.json"},
        )  # fmt: skip
    code, message = error(caught)
    assert code == "ValidationException" and "no/such.json" in message


@pytest.mark.parametrize(
    ("name", "definition", "expected"),
    [
        ("bad name!", gated(1.0), "failed to satisfy constraint"),
        ("-leading-hyphen", gated(1.0), "failed to satisfy constraint"),
        ("NotJson", "{not json", "PipelineDefinition is not valid JSON"),
        ("NotAnObject", "[1, 2]", "must be a JSON object"),
    ],
)
def test_what_create_pipeline_refuses(api: Api, sagemaker: Any, name: str, definition: str, expected: str) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=definition, RoleArn=ROLE)
    code, message = error(caught)
    assert code == "ValidationException" and expected in message
    assert not list((api.home / "pipelines").glob("*Json*")) and not list((api.home / "pipelines").glob("*Object*"))


def test_what_is_not_there(sagemaker: Any) -> None:
    for call in (
        lambda: sagemaker.describe_pipeline(PipelineName="Nowhere"),
        lambda: sagemaker.update_pipeline(PipelineName="Nowhere", PipelineDefinition=gated(1.0)),
        lambda: sagemaker.delete_pipeline(PipelineName="Nowhere"),
        lambda: sagemaker.start_pipeline_execution(PipelineName="Nowhere"),
        lambda: sagemaker.list_pipeline_executions(PipelineName="Nowhere"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught)[0] == "ResourceNotFound"


def test_list_pipelines_with_prefix_sort_and_pages(sagemaker: Any) -> None:
    for name in ("Listed-b", "Listed-a", "Listed-c"):
        sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=gated(1.0), RoleArn=ROLE)
    newest_first = sagemaker.list_pipelines(PipelineNamePrefix="Listed-")["PipelineSummaries"]
    assert [p["PipelineName"] for p in newest_first] == ["Listed-c", "Listed-a", "Listed-b"]
    by_name = sagemaker.get_paginator("list_pipelines").paginate(
        PipelineNamePrefix="Listed-", SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    pages = [[p["PipelineName"] for p in page["PipelineSummaries"]] for page in by_name]
    assert pages == [["Listed-a", "Listed-b"], ["Listed-c"]]
