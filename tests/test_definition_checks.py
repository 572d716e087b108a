"""What a definition may name, and how large and deep it may be: SageMaker's rules, checked before anything runs.

The names a definition gives become file paths (a step's log and work directory, a channel's directory, a
processing input's directory), job names and ARNs; each follows the rule of its shape in botocore's SageMaker
service model, so none can point outside the state home.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.errors import DefinitionError, UsageError
from showcase.local import run_definition
from showcase.local.definition import MAX_DEFINITION_CHARS, MAX_NESTING, parse
from showcase.local.steps import STEP_TYPES
from showcase.names import CHANNEL_NAME, STEP_NAME
from showcase.parameters import check_overrides
from showcase.settings import Settings
from tests.local_fakes import Harness, condition, definition, fail, get, parameter, processing
from tests.test_executors import processing_arguments, training_arguments


def refused(harness: Harness, raw: dict[str, Any], match: str) -> None:
    """Refused with one DefinitionError, before any step ran or any execution was recorded."""
    with pytest.raises(DefinitionError, match=match):
        harness.engine.start(raw, pipeline_name="P", parameters={})
    assert harness.calls() == 0
    assert not harness.settings.executions_root.exists()


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "home")


def local_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "showcase", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


# -- step names: they name files -------------------------------------------------------------------------------


def test_a_step_named_like_a_path_writes_nothing_outside_the_home(tmp_path: Path) -> None:
    """A Fail-only definition runs no code, yet its step's log was written at the path its name spelled."""
    outside = tmp_path / "outside"
    steps = [fail("../../../escaped", "x"), fail(str(outside / "absolute"), "y")]
    path = tmp_path / "escape.json"
    path.write_text(json.dumps(definition(steps)))
    result = local_cli(tmp_path / "home", "start", "--definition", str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "step name '../../../escaped' is not a valid StepName: letters, digits, hyphens and underscores" in (
        result.stderr
    )
    assert result.stderr.count("is not a valid StepName") == 2  # the absolute name too (cut when long)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escape.json", "home"]  # no "outside", no escaped.log
    assert not (tmp_path / "home" / "executions").exists()


@pytest.mark.parametrize(
    "name",
    ["a/b", "..", ".", "with space", "dot.ted", "x" * 65, "", "nul\x00byte", "tab\t", "é"],
)
def test_a_step_name_outside_sagemakers_rule_is_refused(harness: Harness, name: str) -> None:
    refused(harness, definition([processing("Fine"), fail(name, "x")]), r"is not a valid StepName")


def test_step_names_sagemaker_accepts_run(harness: Harness) -> None:
    names = ["A-b_9", "x" * 64, "0"]
    record = harness.engine.start(definition([processing(name) for name in names]), pipeline_name="P", parameters={})
    assert [step.name for step in record.steps] == names
    assert {path.name for path in (harness.settings.executions_root / record.execution_id / "steps").iterdir()} == {
        f"{name}.log" for name in names
    }


def test_a_nested_branch_step_name_is_checked_too(harness: Harness) -> None:
    cond = condition("C", [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}], [fail("../up", "x")], [])
    refused(harness, definition([cond]), r"step name '\.\./up' is not a valid StepName")


# -- other names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Bad Name", "a/b", "", "x" * 257])
def test_a_parameter_name_outside_sagemakers_rule_is_refused(harness: Harness, name: str) -> None:
    refused(
        harness, definition([processing("A")], [parameter(name, "String", "v")]), "is not a valid PipelineParameterName"
    )


@pytest.mark.parametrize("name", ["my_pipeline", "-lead", "trail-", "two words", "a" * 257, ""])
def test_a_pipeline_name_outside_sagemakers_rule_is_refused(tmp_path: Path, name: str) -> None:
    settings = Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=1)
    with pytest.raises(UsageError, match=r"pipeline name .* is not a valid PipelineName"):
        run_definition(definition([fail("F", "x")]), pipeline_name=name, settings=settings)
    assert not (tmp_path / "home").exists()


def test_a_pipeline_name_with_hyphens_runs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=1)
    record = run_definition(definition([fail("F", "x")]), pipeline_name="My-Pipeline-2", settings=settings)
    assert record.execution_arn.endswith(f":pipeline/my-pipeline-2/execution/{record.execution_id}")


@pytest.mark.parametrize("name", ["..", ".", "a/b", "", "x" * 65, "with space"])
def test_a_channel_name_that_is_not_a_directory_name_is_refused_when_parsed(name: str) -> None:
    """``..`` used to pass the parse and fail the run as an internal error, staging beside the job's directory."""
    arguments = training_arguments()
    arguments["InputDataConfig"][1]["ChannelName"] = name
    (problem,) = STEP_TYPES["Training"].executor.problems(arguments)
    assert problem.startswith(f"InputDataConfig[1]: ChannelName {name!r} is not a valid ChannelName")
    raw = definition([{"Name": "Train", "Type": "Training", "Arguments": arguments}])
    with pytest.raises(DefinitionError, match=r"step 'Train' \(Training\): InputDataConfig\[1\]: ChannelName"):
        parse(raw, STEP_TYPES)


def test_a_channel_name_with_dots_is_one_sagemaker_accepts() -> None:
    arguments = training_arguments()
    arguments["InputDataConfig"][1]["ChannelName"] = "validation.v2"
    assert STEP_TYPES["Training"].executor.problems(arguments) == []


def test_a_tuning_steps_training_definition_has_its_channels_checked() -> None:
    training = training_arguments()
    training["InputDataConfig"][0]["ChannelName"] = ".."
    arguments = {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]},
        },
        "TrainingJobDefinition": {key: training[key] for key in training if key != "HyperParameters"}
        | {"StaticHyperParameters": {"num_round": "5"}},
    }
    problems = STEP_TYPES["Tuning"].executor.problems(arguments)
    assert any("ChannelName '..' is not a valid ChannelName" in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"InputName": None}, r"ProcessingInputs\[0\]\.InputName is required \(a non-empty string\), got None"),
        ({"LocalPath": "/opt/ml/processing/in\x00put"}, r"LocalPath .* must be under /opt/ml/processing/"),
        ({"LocalPath": "/opt/ml/processing/../../etc"}, r"LocalPath .* must be under /opt/ml/processing/"),
        ({"LocalPath": "/opt/ml/processing/" + "d/" * 120}, r"LocalPath is 259 characters; .* at most 256"),
    ],
)
def test_processing_input_names_and_local_paths_are_checked(change: dict[str, Any], problem: str) -> None:
    arguments = processing_arguments()
    item = arguments["ProcessingInputs"][0]
    if "InputName" in change:
        del item["InputName"]
    else:
        item["S3Input"]["LocalPath"] = change["LocalPath"]
    (found,) = STEP_TYPES["Processing"].executor.problems(arguments)
    assert __import__("re").search(problem, found), found


def test_a_processing_output_needs_its_name() -> None:
    arguments = processing_arguments()
    arguments["ProcessingOutputConfig"]["Outputs"][0]["OutputName"] = ""
    assert STEP_TYPES["Processing"].executor.problems(arguments) == [
        "ProcessingOutputConfig.Outputs[0].OutputName is required (a non-empty string), got ''"
    ]


def test_a_transform_steps_literal_model_name_follows_sagemakers_rule() -> None:
    arguments = {
        "ModelName": "my_model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/out"},
    }
    assert STEP_TYPES["Transform"].executor.problems(arguments) == [
        "ModelName 'my_model' is not a valid ModelName: letters, digits and hyphens, starting and ending with a "
        "letter or digit, 1-63 characters"
    ]
    assert STEP_TYPES["Transform"].executor.problems({**arguments, "ModelName": get("Steps.M.ModelName")}) == []


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ([{"PropertyFileName": "R", "OutputName": "out", "FilePath": "../../x.json"}], "FilePath '../../x.json' must"),
        ([{"PropertyFileName": "R", "OutputName": "out", "FilePath": "/etc/passwd"}], "FilePath '/etc/passwd' must"),
        ([{"PropertyFileName": "R", "OutputName": "out"}], "a PropertyFile needs PropertyFileName, OutputName, Fil"),
        (
            [{"PropertyFileName": "R", "OutputName": "out", "FilePath": "a.json"}] * 2,
            "declares the PropertyFile 'R' more than once",
        ),
        (5, "PropertyFiles must be a list, got int"),
    ],
)
def test_property_files_are_checked(harness: Harness, files: Any, problem: str) -> None:
    refused(harness, definition([processing("A", PropertyFiles=files)]), f"step 'A.*{problem}")


# -- shapes that used to crash the parser --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (definition([processing("A")], [1]), r"every parameter is an object with a Name and a Type, got 1"),
        (definition([processing("A")], [{"Name": "N", "Type": ["String"]}]), r"parameter .* needs a Name and a Type"),
        (definition([processing("A", DependsOn=5)]), r"step 'A' \(Processing\): DependsOn must be a list of step"),
        (definition([processing("A", DependsOn=[["B"]])]), r"DependsOn must be a list of step names, got \[\['B'\]\]"),
        (definition([condition("C", 5, [], [])]), r"step 'C' \(Condition\): Conditions must be a list of conditions"),
        (definition([{"Name": "T", "Type": ["Processing"]}]), r"every step needs a Name and a Type"),
        (definition([condition("C", [], 5, [])]), r"step 'C' \(Condition\): IfSteps must be a list, got int"),
    ],
)
def test_malformed_shapes_are_problems_not_crashes(harness: Harness, raw: dict[str, Any], problem: str) -> None:
    refused(harness, raw, problem)


# -- conditions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "problem"),
    [
        (
            [{"Type": "Equals"}],
            r"Conditions\[0\] \(Equals\) needs LeftValue and RightValue; it has no LeftValue and no",
        ),
        (
            [{"Type": "LessThan", "LeftValue": 1}],
            r"Conditions\[0\] \(LessThan\) needs LeftValue and RightValue; it has",
        ),
        ([{"Type": "In", "QueryValue": 1}], r"Conditions\[0\] \(In\) needs QueryValue and Values; it has no Values"),
        ([{"Type": "In", "QueryValue": 1, "Values": 5}], r"Conditions\[0\] \(In\): Values must be a list, got 5"),
        ([{"Type": "Not"}], r"Conditions\[0\] \(Not\) needs Condition"),
        ([{"Type": "Or", "Conditions": []}], r"Conditions\[0\] \(Or\): Conditions must be a non-empty list"),
        (
            [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}, {"Type": "Or", "Conditions": [{"Type": "In"}]}],
            r"Conditions\[1\]\.Conditions\[0\] \(In\) needs QueryValue and Values",
        ),
    ],
)
def test_a_condition_without_its_operands_is_refused(
    harness: Harness, conditions: list[dict[str, Any]], problem: str
) -> None:
    """Without operands a comparison compared None with None and held: the branch ran on nothing."""
    refused(
        harness,
        definition([condition("C", conditions, [processing("Then")], [])]),
        r"step 'C' \(Condition\): " + problem,
    )


# -- parameter values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_float_default_that_is_not_finite_is_refused(harness: Harness, value: float) -> None:
    refused(harness, definition([processing("A")], [parameter("MseThreshold", "Float", value)]), "is Float but its")


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_a_float_override_that_is_not_finite_is_refused(harness: Harness, value: str) -> None:
    raw = definition([processing("A")], [parameter("MseThreshold", "Float", 6.0)])
    with pytest.raises(UsageError, match=r"parameter 'MseThreshold' is Float \(a finite number, e\.g\. 0\.5\), got"):
        harness.engine.start(raw, pipeline_name="P", parameters={"MseThreshold": value})
    assert harness.calls() == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("MseThreshold", "high"), ("MseThreshold", "inf"), ("Seed", "4.5"), ("Flag", "yes"), ("Colour", "red")],
)
def test_an_override_is_checked_once_with_one_message(harness: Harness, name: str, value: str) -> None:
    """run_pipeline's check before it publishes or runs, and the engine's when an execution starts, are one check:
    the same override is refused with the same line by both."""
    declared = [parameter("MseThreshold", "Float", 6.0), parameter("Seed", "Integer", 1)]
    raw = definition([processing("A")], [*declared, parameter("Flag", "Boolean", False)])
    with pytest.raises(UsageError) as by_cli:
        check_overrides(raw, [(name, value)])
    with pytest.raises(UsageError) as by_engine:
        harness.engine.start(raw, pipeline_name="P", parameters={name: value})
    assert str(by_cli.value) == str(by_engine.value)


# -- size and depth --------------------------------------------------------------------------------------------


def padded(chars: int) -> dict[str, Any]:
    """A one-step definition that is exactly ``chars`` characters as the SDK serializes it (``json.dumps``)."""
    raw = definition([fail("F", "")])
    raw["Steps"][0]["Arguments"]["ErrorMessage"] = "x" * (chars - len(json.dumps(raw)))
    assert len(json.dumps(raw)) == chars
    return raw


def test_a_definition_over_sagemakers_size_limit_is_refused_first(harness: Harness) -> None:
    raw = padded(MAX_DEFINITION_CHARS + 1)
    raw["Steps"].append({"Name": "Notify", "Type": "Lambda", "Arguments": {}})  # not reported: refused before
    size = len(json.dumps(raw))
    refused(
        harness,
        raw,
        rf"^the definition is {size:,} characters as JSON, over SageMaker's limit of 1,048,576 "
        r"\(CreatePipeline's PipelineDefinition\): split the pipeline",
    )


def test_a_definition_at_the_size_limit_runs(harness: Harness) -> None:
    record = harness.engine.start(padded(MAX_DEFINITION_CHARS), pipeline_name="P", parameters={})
    assert record.failure_reason == "x" * len(record.failure_reason or "") and record.failure_reason


def test_a_definition_nested_deeper_than_the_runtime_walks_is_refused(harness: Harness) -> None:
    message: Any = "deep"
    for _ in range(MAX_NESTING):
        message = [message]
    refused(harness, definition([fail("F", message)]), rf"nests objects and lists more than {MAX_NESTING} levels deep")


def test_deep_and_huge_json_files_are_one_line_each(tmp_path: Path) -> None:
    """Python's JSON reader raises RecursionError past ~1,000 levels and ValueError past 4,300 digits."""
    deep, long = tmp_path / "deep.json", tmp_path / "long.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    long.write_text('{"Version": ' + "9" * 5000 + "}")
    for path, said in ((deep, "nests JSON too deep to read"), (long, "holds an integer of more than 4,300 digits")):
        result = local_cli(tmp_path / "home", "start", "--definition", str(path))
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"error: definition file {str(path)!r} {said}" + (
            " (more than about 1,000 levels)\n" if path == deep else "\n"
        )


# -- the rules themselves --------------------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_an_accepted_step_or_channel_name_stays_in_its_directory(name: str) -> None:
    base = Path("/state/executions/abcdef123456/steps")
    if STEP_NAME.problem("step name", name) is None:
        assert os.path.normpath(base / f"{name}.log") == str(base / f"{name}.log")
        assert (base / f"{name}.log").parent == base
    if CHANNEL_NAME.problem("ChannelName", name) is None:
        assert os.path.normpath(base / name) == str(base / name) and (base / name).parent == base
