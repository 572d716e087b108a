"""A step type is one declaration in one module and one line of the table: the engine, the cache, the definition
parser, aws.pipelines and the local API read what it declares, and none of them names a step type."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from showcase.errors import DefinitionError
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.local.steptype import AwsStep, Location, StepType
from showcase.statuses import ExecutionStatus, StepStatus
from tests.local_fakes import FakeExecutor, Harness, condition, definition, fail, get, parameter

NOTIFY = {
    "Name": "Notify",
    "Type": "Lambda",
    "Arguments": {"FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:notify", "Payload": {}},
    "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"},
}


def lambda_step(executor: FakeExecutor) -> StepType:
    """What a module running Lambda steps would declare (the recipe in docs/architecture.md)."""
    return StepType(
        "Lambda",
        AwsStep("Lambda", "FunctionArn"),
        executor=executor,
        cacheable=True,
        cache_key=("FunctionArn", "Payload"),
        inputs=(Location("Payload.InputUri"),),
    )


def test_a_new_step_type_runs_once_its_declaration_replaces_its_table_line(tmp_path: Path) -> None:
    """The engine runs a Lambda step with nothing but the declaration: arguments resolved from a parameter, its
    properties read by a Condition, cached by its declared key, its declared input checked before the run."""
    harness = Harness(tmp_path)
    with pytest.raises(DefinitionError, match=r"step 'Notify' \(Lambda\) is not supported locally: it invokes"):
        harness.engine.start(definition([NOTIFY]), pipeline_name="P", parameters={})

    calls: list[dict[str, Any]] = []

    def invoke(context: JobContext) -> dict[str, Any]:
        calls.append(context.arguments)
        return {"OutputParameters": [], "StatusCode": 200}

    harness.engine.step_types = {**harness.step_types, "Lambda": lambda_step(FakeExecutor(invoke))}
    notify = {**NOTIFY, "Arguments": {**NOTIFY["Arguments"], "Payload": {"to": get("Parameters.To")}}}
    check = condition(
        "Ok",
        [{"Type": "Equals", "LeftValue": get("Steps.Notify.StatusCode"), "RightValue": 200}],
        [],
        [fail("NotOk", "the function failed")],
    )
    raw = definition([notify, check], [parameter("To", "String", "ops")])
    first = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert first.status == ExecutionStatus.SUCCEEDED
    assert calls == [{**NOTIFY["Arguments"], "Payload": {"to": "ops"}}]
    again = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert again.step("Notify").status == StepStatus.CACHED and len(calls) == 1
    elsewhere = definition(
        [{**notify, "Arguments": {"FunctionArn": "arn:x", "Payload": {"InputUri": "s3://bucket/k"}}}]
    )
    with pytest.raises(DefinitionError, match=r"Notify Payload\.InputUri: s3://bucket/k"):
        harness.engine.start(elsewhere, pipeline_name="P", parameters={})


def test_the_table_holds_each_declaration_under_its_own_name_in_sagemakers_words() -> None:
    """Every Metadata key a declaration names is one of PipelineExecutionStepMetadata's members (botocore)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    members = set(model.shape_for("PipelineExecutionStepMetadata").members)
    for name, declared in STEP_TYPES.items():
        assert declared.name == name
        assert declared.aws.metadata in members, name
        assert declared.executor is not None or not declared.cacheable, f"{name} runs no job: nothing to cache"
    engine_evaluated = {name for name, declared in STEP_TYPES.items() if declared.engine_evaluated}
    assert engine_evaluated == {"Condition", "Fail"}


def test_a_declaration_says_one_way_to_run() -> None:
    with pytest.raises(ValueError, match="exactly one of executor, evaluator and refused"):
        replace(STEP_TYPES["Processing"], refused="no")
    with pytest.raises(ValueError, match="exactly one of executor, evaluator and refused"):
        StepType("Nothing", AwsStep("Nothing"))


@pytest.mark.parametrize(
    ("metadata", "kind"),
    [
        ({"ProcessingJob": {"Arn": "a"}}, "Processing"),
        ({"TrainingJob": {"Arn": "a"}}, "Training"),
        ({"TuningJob": {"Arn": "a"}}, "Tuning"),
        ({"TransformJob": {"Arn": "a"}}, "Transform"),
        ({"Model": {"Arn": "a"}}, "Model"),
        ({"RegisterModel": {"Arn": "a"}}, "RegisterModel"),
        ({"QualityCheck": {"CheckType": "DATA_QUALITY"}}, "QualityCheck"),
        ({"Condition": {"Outcome": "True"}}, "Condition"),
        ({"Fail": {"ErrorMessage": "no"}}, "Fail"),
        ({"Lambda": {"Arn": "a"}}, "Lambda"),
        ({"AutoMLJob": {"Arn": "a"}}, "AutoML"),
        ({}, ""),
    ],
)
def test_a_sagemaker_step_is_reported_with_its_type(metadata: dict[str, Any], kind: str) -> None:
    """ListPipelineExecutionSteps names a step's type only through its Metadata key; every declared key is read
    (Tuning and QualityCheck steps were reported without a type)."""
    from showcase.aws.pipelines import step_report

    assert step_report({"StepName": "S", "StepStatus": "Succeeded", "Metadata": metadata}).type == kind
