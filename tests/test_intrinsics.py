"""CloudFormation's intrinsic functions as ``showcase.deployment.intrinsics`` resolves them, and the long form the
template loader reads short forms into."""

from __future__ import annotations

from typing import Any

import pytest

from showcase.deployment.intrinsics import NO_VALUE, Scope, check_rules, condition_scope, references, resolve
from showcase.deployment.template import load_template
from showcase.errors import UsageError

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com"}
MAPPINGS = {"Accounts": {"eu-west-1": {"Id": "468650794304"}}}


def resource(logical: str, attribute: str | None) -> str:
    return f"{logical}:{attribute or 'ref'}"


def scope(conditions: dict[str, bool] | None = None, **parameters: Any) -> Scope:
    return Scope({"Name": "ep", **parameters}, PSEUDO, MAPPINGS, conditions or {}, resource)


def test_refs_to_parameters_pseudo_parameters_and_resources() -> None:
    value = {"A": {"Ref": "Name"}, "B": {"Ref": "AWS::Region"}, "C": {"Ref": "Model"}, "D": {"Fn::GetAtt": ["M", "X"]}}
    assert resolve(value, scope()) == {"A": "ep", "B": "eu-west-1", "C": "Model:ref", "D": "M:X"}


def test_no_value_removes_the_property_or_the_list_item_that_holds_it() -> None:
    value = {
        "Kept": 1,
        "Gone": {"Fn::If": ["Off", 2, {"Ref": "AWS::NoValue"}]},
        "List": [1, {"Fn::If": ["Off", 2, {"Ref": "AWS::NoValue"}]}, 3],
    }
    assert resolve(value, scope({"Off": False})) == {"Kept": 1, "List": [1, 3]}
    assert resolve({"Ref": "AWS::NoValue"}, scope()) is NO_VALUE


def test_sub_in_both_forms_with_attributes_and_a_literal() -> None:
    assert resolve({"Fn::Sub": "s3://sagemaker-${AWS::Region}-${AWS::AccountId}/${Name}"}, scope()) == (
        "s3://sagemaker-eu-west-1-123456789012/ep"
    )
    text = "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/x ${Model.ModelName} ${!Literal}"
    value = {"Fn::Sub": [text, {"Account": {"Fn::FindInMap": ["Accounts", {"Ref": "AWS::Region"}, "Id"]}}]}
    assert resolve(value, scope()) == "468650794304.dkr.ecr.eu-west-1.amazonaws.com/x Model:ModelName ${Literal}"


def test_join_select_split_and_base64() -> None:
    assert resolve({"Fn::Join": [",", ["a", {"Ref": "Name"}, {"Ref": "AWS::NoValue"}]]}, scope()) == "a,ep"
    assert resolve({"Fn::Select": ["1", {"Fn::Split": ["/", "a/b/c"]}]}, scope()) == "b"
    assert resolve({"Fn::Base64": "hi"}, scope()) == "aGk="


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"Fn::ImportValue": "x"},
            "Fn::ImportValue is not supported by the local CloudFormation \\(it resolves Ref, Fn::GetAtt",
        ),
        ({"Fn::Equals": ["a", "a"]}, "Fn::Equals is supported only in Conditions and Rules"),
        ({"Fn::If": ["Undeclared", 1, 2]}, "names the condition 'Undeclared', which Conditions does not declare"),
        ({"Fn::FindInMap": ["Accounts", "mars-1", "Id"]}, "mapping 'Accounts' has no \\['mars-1'\\]\\['Id'\\]"),
        ({"Fn::Select": ["5", ["a"]]}, "index '5' is not an index"),
        ({"Fn::Join": [",", [{"a": 1}]]}, "Fn::Join can only put strings and numbers into text"),
        ({"Fn::If": ["On", 1]}, "Fn::If takes a list of 3 elements"),
    ],
)
def test_what_is_refused_is_one_line_naming_the_function(value: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(value, scope({"On": True}))


def template(conditions: dict[str, Any], rules: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Conditions": conditions, "Rules": rules or {}, "Resources": {}}


def test_conditions_are_evaluated_once_each_in_any_order() -> None:
    conditions = {
        "Both": {"Fn::And": [{"Condition": "Capture"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mode"}, "off"]}]}]},
        "Capture": {"Fn::Equals": [{"Ref": "Capture"}, "true"]},
        "Either": {"Fn::Or": [{"Condition": "Both"}, {"Fn::Equals": ["x", "y"]}]},
    }
    evaluated = condition_scope(template(conditions), {"Capture": "true", "Mode": "on"}, PSEUDO).conditions
    assert evaluated == {"Both": True, "Capture": True, "Either": True}


def test_a_circle_of_conditions_is_named() -> None:
    conditions = {"A": {"Condition": "B"}, "B": {"Fn::Not": [{"Condition": "A"}]}}
    with pytest.raises(UsageError, match="the conditions A -> B -> A refer to each other in a circle"):
        condition_scope(template(conditions), {}, PSEUDO)


def test_rules_refuse_with_their_assertion_s_description() -> None:
    rules = {
        "OnlyOne": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Check"}, "yes"]},
            "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "A"}, ""]}, "AssertDescription": "give A or B"}],
        }
    }
    check_rules(template({}, rules), condition_scope(template({}), {"Check": "no", "A": "x"}, PSEUDO))
    with pytest.raises(UsageError, match="^give A or B$"):
        check_rules(template({}, rules), condition_scope(template({}), {"Check": "yes", "A": "x"}, PSEUDO))


def test_references_follow_the_branches_the_conditions_take() -> None:
    value = {
        "A": {"Fn::If": ["On", {"Fn::GetAtt": ["Taken", "Name"]}, {"Ref": "NotTaken"}]},
        "B": {"Fn::Sub": ["${Param} ${Res.Attr} ${Var} ${!Lit} ${AWS::Region}", {"Var": {"Ref": "Other"}}]},
    }
    assert references(value, {"On": True}, frozenset({"Param"})) == {"Taken", "Res", "Other"}
    assert references(value, {"On": False}, frozenset({"Param"})) == {"NotTaken", "Res", "Other"}


def test_the_loader_writes_short_forms_long() -> None:
    text = """
Resources:
  R:
    Type: T
    Condition: C
    Properties:
      A: !GetAtt Model.ModelName
      B: !If [C, !Ref X, !Sub "${X}-y"]
      C: !Select [0, !Split [",", "a,b"]]
      D: !Condition C
"""
    properties = load_template(text, "t")["Resources"]["R"]["Properties"]
    assert properties == {
        "A": {"Fn::GetAtt": ["Model", "ModelName"]},
        "B": {"Fn::If": ["C", {"Ref": "X"}, {"Fn::Sub": "${X}-y"}]},
        "C": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "D": {"Condition": "C"},
    }
    with pytest.raises(UsageError, match="has no Resources mapping"):
        load_template("Parameters: {}", "t")
    with pytest.raises(UsageError, match="is not valid YAML"):
        load_template("Resources: [", "t")


def test_the_local_cloudformation_answers_every_pseudo_parameter() -> None:
    from showcase.api.cloudformation.plans import pseudo_parameters
    from showcase.deployment.intrinsics import PSEUDO_PARAMETERS

    answered = pseudo_parameters("eu-west-1", "123456789012", "s", "arn:aws:cloudformation:eu-west-1:1:stack/s/1")
    assert set(answered) | {"AWS::NoValue"} == PSEUDO_PARAMETERS
    assert (answered["AWS::Partition"], answered["AWS::URLSuffix"]) == ("aws", "amazonaws.com")
