"""Definition checks: every problem refused before any step runs, in one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from showcase.errors import DefinitionError
from showcase.local.definition import parse
from tests import definition_fixture
from tests.local_fakes import Harness, condition, definition, fail, get, parameter, processing, training


def refused(harness: Harness, raw: dict[str, Any], match: str) -> None:
    with pytest.raises(DefinitionError, match=match):
        harness.engine.start(raw, pipeline_name="P", parameters={})
    assert harness.calls() == 0
    assert not harness.settings.executions_root.exists()


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_the_sdk_definition_parses_in_dependency_order(harness: Harness) -> None:
    from showcase.local.steps import STEP_TYPES

    parsed = parse(definition_fixture.load(), {**harness.step_types, "QualityCheck": STEP_TYPES["QualityCheck"]})
    order = list(parsed.steps)
    assert order.index("PrepareData") < order.index("DataQualityBaseline") < order.index("RegisterModel")
    assert parsed.steps["DataQualityBaseline"].arguments["SkipCheck"] == {"Get": "Parameters.SkipDataQualityCheck"}
    assert order.index("PrepareData") < order.index("TrainModel") < order.index("EvaluateModel")
    assert order.index("EvaluateModel") < order.index("ReviewMse") < order.index("RegisterModel")
    assert parsed.steps["RegisterModel"].branch == ("ReviewMse", True)
    assert parsed.steps["FailOnMse"].branch == ("ReviewMse", False)
    assert parsed.steps["FailOnMse"].dependencies == {"ReviewMse", "EvaluateModel"}


def test_a_cycle_is_refused_naming_its_steps(harness: Harness) -> None:
    a = processing("A", inputs={"x": get("Steps.B.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri")})
    b = processing("B", DependsOn=["A"])
    refused(
        harness, definition([a, b, processing("C")]), r"cycle \(each depends on the next\): (A -> B -> A|B -> A -> B)"
    )


def test_an_unknown_step_reference_is_refused(harness: Harness) -> None:
    raw = definition([training("T", get("Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"))])
    refused(harness, raw, r"step 'T' \(Training\): Steps\.Prep references an unknown step")


def test_an_undeclared_parameter_is_refused(harness: Harness) -> None:
    raw = definition(
        [processing("A", container_arguments=[get("Parameters.Seed")])], [parameter("Other", "String", "x")]
    )
    refused(harness, raw, r"Parameters\.Seed is not declared \(declared: Other\)")


def test_an_undeclared_property_file_is_refused(harness: Harness) -> None:
    mse = {"Std:JsonGet": {"PropertyFile": get("Steps.A.PropertyFiles.Report"), "Path": "mse"}}
    cond = condition("C", [{"Type": "LessThan", "LeftValue": mse, "RightValue": 1}], [], [])
    refused(harness, definition([processing("A"), cond]), "step 'A' declares no PropertyFile named 'Report'")


def test_an_unknown_execution_variable_is_refused(harness: Harness) -> None:
    refused(harness, definition([fail("F", get("Execution.Nope"))]), r"Execution\.Nope is not an execution variable")


def test_unsupported_step_types_are_refused_with_reasons(harness: Harness) -> None:
    steps = [
        {"Name": "Batch", "Type": "AutoML", "Arguments": {}},
        {"Name": "Cluster", "Type": "EMR", "Arguments": {}},
        {"Name": "Check", "Type": "QualityCheck", "Arguments": {}},
        processing("Fine"),
    ]
    refused(
        harness,
        definition(steps),
        r"\(3 problems\): step 'Batch' \(AutoML\) is not supported locally: it runs an Autopilot job "
        r"\(supported: Condition, Fail, Processing, RegisterModel, Training\); "
        r"step 'Cluster' \(EMR\) is not supported locally: it runs on an Amazon EMR cluster.*"
        r"step 'Check' \(QualityCheck\)",
    )


def test_executor_problems_are_collected(harness: Harness) -> None:
    harness.executors["Processing"]._problems = ["image 'image' has no local equivalent"]
    refused(harness, definition([processing("A")]), r"step 'A' \(Processing\): image 'image' has no local equivalent")


def test_all_problems_come_in_one_message(harness: Harness) -> None:
    raw = definition(
        [processing("A", DependsOn=["Ghost"]), processing("A"), fail("F", get("Parameters.Missing"))],
        [parameter("N", "Integer", "not a number")],
    )
    raw["Version"] = "2019-01-01"
    refused(
        harness,
        raw,
        r"\(5 problems\): Version is '2019-01-01', expected '2020-12-01'; "
        r"parameter 'N' is Integer but its DefaultValue is 'not a number'; "
        r"step name 'A' is used more than once; step 'A' \(Processing\) DependsOn unknown step 'Ghost'; "
        r"step 'F' \(Fail\): Parameters\.Missing is not declared",
    )


def test_nested_branch_steps_are_checked_too(harness: Harness) -> None:
    inner = {"Name": "Deep", "Type": "EMR", "Arguments": {}}
    cond = condition("C", [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}], [inner], [])
    refused(
        harness, definition([cond]), r"step 'Deep' \(EMR\) is not supported locally: it runs on an Amazon EMR cluster"
    )


def test_a_malformed_condition_is_refused(harness: Harness) -> None:
    cond = condition("C", [{"Type": "Not", "Condition": {"Type": "Between"}}], [], [])
    refused(
        harness,
        definition([cond]),
        r"step 'C' \(Condition\): Conditions\[0\]\.Condition: unknown condition type 'Between'",
    )


def test_a_non_object_definition_is_refused(harness: Harness) -> None:
    with pytest.raises(DefinitionError, match="a pipeline definition is a JSON object, got list"):
        parse([], harness.executors)
