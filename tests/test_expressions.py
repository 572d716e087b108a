"""Expressions and conditions, resolved against hand-made properties (no engine)."""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.errors import StepFailed
from showcase.local.conditions import CONDITIONS, evaluate, evaluate_all
from showcase.local.expressions import PropertyFileSpec, Reference, Resolver, lookup, parse_get, references

PROCESSING = {
    "ProcessingOutputConfig": {
        "Outputs": [
            {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/e1/train"}},
            {"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://b/e1/evaluation"}},
        ]
    }
}
REPORT = {"regression_metrics": {"mse": {"value": 4.25}, "scores": [1, 2.5]}}


def resolver(objects: dict[str, bytes] | None = None) -> Resolver:
    files = {("Eval", "Report"): PropertyFileSpec("Eval", "Report", "evaluation", "evaluation.json")}
    store = {"s3://b/e1/evaluation/evaluation.json": json.dumps(REPORT).encode(), **(objects or {})}

    def read(uri: str) -> bytes:
        if uri not in store:
            raise KeyError(uri)
        return store[uri]

    return Resolver(
        parameters={"Threshold": 6.0, "Seed": 42, "Flag": True, "Name": "abc"},
        variables={"PipelineExecutionId": "abc123def456", "PipelineName": "P"},
        step_properties={
            "Prep": PROCESSING,
            "Eval": PROCESSING,
            "Train": {"ModelArtifacts": {"S3ModelArtifacts": "s3://m"}},
        },
        property_files=files,
        read_bytes=read,
    )


def test_parse_get_kinds() -> None:
    assert parse_get("Parameters.Seed") == Reference("Parameters", "Seed")
    assert parse_get("Execution.PipelineExecutionId") == Reference("Execution", "PipelineExecutionId")
    assert parse_get("Steps.S.A.B['x']") == Reference("Steps", "S", "A.B['x']")
    assert parse_get("Steps.E.PropertyFiles.Report") == Reference("PropertyFile", "E", "Report")


@pytest.mark.parametrize("text", ["Steps.S", "Nope.X", "Parameters", 3])
def test_parse_get_refuses_malformed(text: Any) -> None:
    with pytest.raises(ValueError, match=r"Parameters\.<Name>|must be a string"):
        parse_get(text)


def test_references_walks_nested_expressions() -> None:
    value = {"A": [{"Std:Join": {"On": "/", "Values": [{"Get": "Parameters.X"}]}}],
             "B": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.E.PropertyFiles.R"}, "Path": "a"}}}  # fmt: skip
    assert list(references(value)) == [Reference("Parameters", "X"), Reference("PropertyFile", "E", "R")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri", "s3://b/e1/train"),
        ("ProcessingOutputConfig.Outputs[1].OutputName", "evaluation"),
        ('ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri', "s3://b/e1/evaluation"),
    ],
)
def test_lookup_follows_sagemaker_paths(path: str, expected: str) -> None:
    assert lookup(PROCESSING, path) == expected


def test_lookup_reads_map_keys_and_json_paths() -> None:
    assert lookup({"HyperParameters": {"eta": "0.2"}}, "HyperParameters['eta']") == "0.2"
    assert lookup(REPORT, "regression_metrics.scores[1]") == 2.5
    assert lookup(REPORT, "$.regression_metrics.mse.value") == 4.25


def test_lookup_names_the_missing_part() -> None:
    with pytest.raises(KeyError, match="validation"):
        lookup(PROCESSING, "ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri")


def test_get_parameters_execution_and_steps() -> None:
    r = resolver()
    assert r.resolve({"Get": "Parameters.Seed"}) == 42
    assert r.resolve({"Get": "Execution.PipelineExecutionId"}) == "abc123def456"
    assert r.resolve({"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}) == "s3://m"
    assert r.resolve({"Get": "Execution.CurrentDateTime"}).startswith("20")


def test_join_renders_numbers_and_booleans_as_sagemaker_does() -> None:
    value = {"Std:Join": {"On": " ", "Values": ["MSE", {"Get": "Parameters.Threshold"}, {"Get": "Parameters.Seed"},
                                                {"Get": "Parameters.Flag"}]}}  # fmt: skip
    assert resolver().resolve(value) == "MSE 6.0 42 true"


def test_nested_join_inside_arguments() -> None:
    inner = {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}]}}
    value = {"Outputs": [{"S3Uri": {"Std:Join": {"On": "/", "Values": [inner, "data"]}}}]}
    assert resolver().resolve(value) == {"Outputs": [{"S3Uri": "s3://b/abc123def456/data"}]}


def test_json_get_through_a_property_file() -> None:
    value = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
            "Path": "regression_metrics.mse.value",
        }
    }
    assert resolver().resolve(value) == 4.25


def test_json_get_with_the_property_file_dict_form() -> None:
    source = {"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    assert resolver().resolve({"Std:JsonGet": {"PropertyFile": source, "Path": "regression_metrics.mse.value"}}) == 4.25


def test_json_get_with_an_s3_uri() -> None:
    objects = {"s3://b/abc123def456/out.json": b'{"a": {"b": [7]}}'}
    uri = {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}, "out.json"]}}
    assert resolver(objects).resolve({"Std:JsonGet": {"S3Uri": uri, "Path": "a.b[0]"}}) == 7


def test_json_get_missing_path_is_a_step_failure() -> None:
    value = {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"}, "Path": "regression_metrics.rmse"}
    }
    with pytest.raises(StepFailed, match=r"evaluation.json has no 'regression_metrics.rmse' \(missing 'rmse'\)"):
        resolver().resolve(value)


def test_json_get_missing_file_is_a_step_failure() -> None:
    with pytest.raises(StepFailed, match=r"Std:JsonGet cannot read s3://b/none\.json"):
        resolver().resolve({"Std:JsonGet": {"S3Uri": "s3://b/none.json", "Path": "a"}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Steps.Prep.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri", "the step's properties have no 'nope'"),
        ("Steps.Skipped.ModelArtifacts.S3ModelArtifacts", "step 'Skipped' has no properties"),
        ("Execution.TrainingJobName", "Execution 'TrainingJobName' is not set"),
        ("Steps.Eval.PropertyFiles.Report", "only read through Std:JsonGet"),
    ],
)
def test_unresolvable_reference_names_it(text: str, message: str) -> None:
    with pytest.raises(StepFailed, match=rf"cannot resolve \{{'Get': .*{message}"):
        resolver().resolve({"Get": text})


@pytest.mark.parametrize(
    ("outcome", "integer", "expected"),
    [
        (
            False,
            3,
            "condition greater than check return: false and left side param str is 1 and right side param int is 3",
        ),
        (
            True,
            0,
            "condition greater than check return: true and left side param str is 1 and right side param int is 0",
        ),
    ],
)
def test_join_renders_booleans_and_integers_as_sagemaker_does(outcome: bool, integer: int, expected: str) -> None:
    """The FailureReasons SageMaker itself produced for this Join, as the SDK's integration test
    ``tests/integ/sagemaker/workflow/test_pipeline_var_behaviors.py`` records them: a Condition step's Boolean
    ``Outcome`` renders as ``true``/``false`` and an Integer parameter without a decimal point. (No SageMaker
    document or SDK test records how a Float renders; the README says what the local runtime does.)"""
    message = {
        "Std:Join": {
            "On": " ",
            "Values": [
                "condition greater than check return:",
                {"Std:Join": {"On": "", "Values": [{"Get": "Steps.CondStep.Outcome"}]}},
                "and left side param str is",
                {"Get": "Parameters.MyString"},
                "and right side param int is",
                {"Get": "Parameters.MyInteger"},
            ],
        }
    }
    resolve = Resolver(
        parameters={"MyString": "1", "MyInteger": integer},
        variables={},
        step_properties={"CondStep": {"Outcome": outcome}},
        property_files={},
        read_bytes=lambda uri: b"",
    )
    assert resolve.resolve(message) == expected


@given(values=st.lists(st.integers(), min_size=1, max_size=5))
def test_join_of_integers_has_no_decimal_point(values: list[int]) -> None:
    assert "." not in resolver().resolve({"Std:Join": {"On": ",", "Values": values}})


def identity(value: Any) -> Any:
    return value


COMPARISONS = {
    "Equals": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}
numbers = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))


@pytest.mark.parametrize("kind", sorted(COMPARISONS))
@given(left=numbers, right=numbers)
def test_comparisons_match_python_on_numbers(kind: str, left: float, right: float) -> None:
    condition = {"Type": kind, "LeftValue": left, "RightValue": right}
    assert evaluate(condition, identity) is COMPARISONS[kind](float(left), float(right))


@given(left=numbers, right=numbers)
def test_not_negates(left: float, right: float) -> None:
    inner = {"Type": "LessThan", "LeftValue": left, "RightValue": right}
    assert evaluate({"Type": "Not", "Condition": inner}, identity) is not evaluate(inner, identity)


def test_every_sdk_condition_type_is_in_the_table() -> None:
    sdk = {"Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo", "In", "Not", "Or"}
    assert set(CONDITIONS) == sdk


def test_in_or_and_resolved_operands() -> None:
    r = resolver()
    assert evaluate({"Type": "In", "QueryValue": {"Get": "Parameters.Seed"}, "Values": [1, 42]}, r.resolve)
    assert not evaluate({"Type": "In", "QueryValue": "x", "Values": ["a", "b"]}, r.resolve)
    always = {"Type": "Equals", "LeftValue": 1, "RightValue": 1}
    never = {"Type": "Equals", "LeftValue": 1, "RightValue": 2}
    assert evaluate({"Type": "Or", "Conditions": [never, always]}, r.resolve)
    assert not evaluate({"Type": "Or", "Conditions": [never, never]}, r.resolve)
    assert not evaluate_all([always, never], r.resolve)
    mse = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
            "Path": "regression_metrics.mse.value",
        }
    }
    assert evaluate(
        {"Type": "LessThanOrEqualTo", "LeftValue": mse, "RightValue": {"Get": "Parameters.Threshold"}}, r.resolve
    )


def test_integer_equals_float() -> None:
    assert evaluate({"Type": "Equals", "LeftValue": 6, "RightValue": 6.0}, identity)


def test_comparing_a_number_with_text_fails_the_step() -> None:
    with pytest.raises(StepFailed, match=r"GreaterThan cannot compare 'abc' \(str\) with 1.0 \(float\)"):
        evaluate({"Type": "GreaterThan", "LeftValue": "abc", "RightValue": 1}, identity)


def test_unknown_condition_type_fails() -> None:
    with pytest.raises(StepFailed, match="unknown condition type 'Between'"):
        evaluate({"Type": "Between"}, identity)
