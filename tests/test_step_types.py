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
from showcase.local.steptype import AwsStep, StepType, refused
from showcase.statuses import ExecutionStatus, StepStatus
from tests.local_fakes import FakeExecutor, Harness, condition, definition, fail, get, parameter

NOTIFY = {
    "Name": "Notify",
    "Type": "Lambda",
    "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:notify",
    "OutputParameters": [{"OutputName": "status", "OutputType": "String"}],
    "Arguments": {"to": "nobody"},
    "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"},
}


def lambda_step(executor: FakeExecutor) -> StepType:
    """What a module running Lambda steps would declare (the recipe in docs/architecture.md): the function and its
    outputs are fields of the step beside its Arguments; SageMaker does not cache Lambda steps."""
    return StepType(
        "Lambda",
        AwsStep("Lambda", "FunctionArn"),
        executor=executor,
        step_fields=("FunctionArn", "OutputParameters"),
    )


def test_a_new_step_type_runs_once_its_declaration_replaces_its_table_line(tmp_path: Path) -> None:
    """The engine runs a Lambda step with nothing but the declaration: its step fields merged into its arguments,
    resolved from a parameter, its properties read by a Condition, and run again each time (not cacheable)."""
    harness = Harness(tmp_path)
    harness.engine.step_types = {
        **harness.step_types,
        "Lambda": refused("Lambda", "it invokes an AWS Lambda function", "Lambda"),
    }
    with pytest.raises(DefinitionError, match=r"step 'Notify' \(Lambda\) is not supported locally: it invokes"):
        harness.engine.start(definition([NOTIFY]), pipeline_name="P", parameters={})

    calls: list[dict[str, Any]] = []

    def invoke(context: JobContext) -> dict[str, Any]:
        calls.append(context.arguments)
        return {"FunctionArn": context.arguments["FunctionArn"], "OutputParameters": {"status": "sent"}}

    harness.engine.step_types = {**harness.step_types, "Lambda": lambda_step(FakeExecutor(invoke))}
    notify = {**NOTIFY, "Arguments": {"to": get("Parameters.To")}}
    check = condition(
        "Ok",
        [{"Type": "Equals", "LeftValue": get("Steps.Notify.OutputParameters['status']"), "RightValue": "sent"}],
        [],
        [fail("NotOk", "the function failed")],
    )
    raw = definition([notify, check], [parameter("To", "String", "ops")])
    first = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert first.status == ExecutionStatus.SUCCEEDED and first.step("NotOk").status == StepStatus.SKIPPED
    expected = {"to": "ops", "FunctionArn": NOTIFY["FunctionArn"], "OutputParameters": NOTIFY["OutputParameters"]}
    assert calls == [expected]
    again = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert again.step("Notify").status == StepStatus.SUCCEEDED and len(calls) == 2


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


def test_the_architecture_page_says_where_each_step_type_runs_as_its_declaration_does() -> None:
    """docs/architecture.md's table of step types (where each runs, its AWS Metadata key) is the declarations'."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line.strip().strip("|").split("|") for line in text.splitlines() if line.strip().startswith("| ")]
    table = {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows if cells[0].strip()}
    stated: dict[str, tuple[str, str]] = {}
    for names, (runs, _, metadata) in ((names, cells[:3]) for names, cells in table.items() if len(cells) >= 3):
        for index, name in enumerate(part.strip() for part in names.split(",")):
            keys = [key.strip() for key in metadata.split(",")]
            stated[name] = (runs, keys[min(index, len(keys) - 1)] if keys != [""] else "")
    for name, declared in STEP_TYPES.items():
        runs, metadata = stated[name]
        if declared.refused is not None:
            assert runs.startswith("refused"), name
        elif declared.engine_evaluated:
            assert runs == "the engine", name
        else:
            assert runs.startswith("a job process") == declared.job_process, name
            assert runs == "the runner" or declared.job_process, name
        assert metadata in ("", declared.aws.metadata), name
    assert set(stated) >= set(STEP_TYPES)
