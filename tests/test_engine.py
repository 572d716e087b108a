"""The engine over fake executors: statuses, branches, Fail messages, parameters, parallelism, records."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import StepFailed, UsageError
from showcase.local.jobs import JobContext
from showcase.local.records import ExecutionRecord, ExecutionStore
from showcase.settings import load as load_settings
from tests.local_fakes import Harness, condition, definition, fail, get, join, parameter, processing, training

OUT = "ProcessingOutputConfig.Outputs['{}'].S3Output.S3Uri"
MSE = {"Std:JsonGet": {"PropertyFile": get("Steps.Eval.PropertyFiles.Report"), "Path": "metrics.mse.value"}}


def abalone_like(threshold: float = 6.0) -> dict[str, Any]:
    """The shape of the real pipeline: prepare -> train -> evaluate -> condition -> register | fail."""
    evaluate = processing(
        "Eval",
        outputs=("evaluation",),
        inputs={"model": get("Steps.Train.ModelArtifacts.S3ModelArtifacts")},
        PropertyFiles=[{"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "evaluation.json"}],
    )
    register = {"Name": "Register", "Type": "RegisterModel",
                "Arguments": {"ModelDataUrl": get("Steps.Train.ModelArtifacts.S3ModelArtifacts"),
                              "ModelApprovalStatus": get("Parameters.ApprovalStatus")}}  # fmt: skip
    message = join(" ", "Test MSE", MSE, "is above the threshold MseThreshold =", get("Parameters.MseThreshold"))
    review = condition(
        "Review",
        [{"Type": "LessThanOrEqualTo", "LeftValue": MSE, "RightValue": get("Parameters.MseThreshold")}],
        [register],
        [fail("TooHigh", message)],
    )
    steps = [processing("Prep", outputs=("train", "test")), training("Train", get("Steps.Prep." + OUT.format("train"))),
             evaluate, review]  # fmt: skip
    params = [parameter("MseThreshold", "Float", threshold), parameter("ApprovalStatus", "String", "Approved"),
              parameter("Seed", "Integer", 42)]  # fmt: skip
    return definition(steps, params)


def writes_report(mse: float) -> Any:
    def run(context: JobContext) -> dict[str, Any]:
        uri = context.arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        context.store.put_bytes(f"{uri}/evaluation.json", f'{{"metrics": {{"mse": {{"value": {mse}}}}}}}'.encode())
        return {"ProcessingOutputConfig": context.arguments["ProcessingOutputConfig"]}

    return run


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def statuses(record: ExecutionRecord) -> dict[str, str]:
    return {step.name: step.status for step in record.steps}


def test_a_good_model_is_registered_and_the_fail_branch_skipped(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["Eval"] = writes_report(4.5)
    record = harness.engine.start(abalone_like(), pipeline_name="P", parameters={})
    assert record.status == "Succeeded", record.failure_reason
    expected = {"Prep": "Succeeded", "Train": "Succeeded", "Eval": "Succeeded", "Review": "Succeeded",
                "Register": "Succeeded", "TooHigh": "Skipped"}  # fmt: skip
    assert statuses(record) == expected
    assert record.step("Review").properties == {"Outcome": True}
    train = harness.executors["Training"].calls[0]
    prep_train = f"s3://bucket/{record.execution_id}/Prep/train"
    assert train.arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == prep_train
    register = harness.executors["RegisterModel"].calls[0].arguments
    assert register == {"ModelDataUrl": f"s3://bucket/{record.execution_id}/model/Train/output/model.tar.gz",
                        "ModelApprovalStatus": "Approved"}  # fmt: skip
    assert record.step("Register").properties == {"ModelPackageArn": "arn:local:package/1"}


def test_a_bad_model_fails_with_the_resolved_message(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["Eval"] = writes_report(9.5)
    record = harness.engine.start(abalone_like(), pipeline_name="P", parameters={"MseThreshold": "6"})
    assert record.status == "Failed"
    assert record.failure_reason == "Test MSE 9.5 is above the threshold MseThreshold = 6.0"
    assert record.step("TooHigh").failure_reason == record.failure_reason
    assert statuses(record)["Register"] == "Skipped"
    assert statuses(record)["TooHigh"] == "Failed"
    assert harness.executors["RegisterModel"].calls == []


def test_after_a_failure_no_further_step_runs(harness: Harness) -> None:
    def broken(context: JobContext) -> dict[str, Any]:
        context.log.write("training diverged\n")
        raise StepFailed("AlgorithmError: training diverged")

    harness.executors["Training"].behaviours["Train"] = broken
    record = harness.engine.start(abalone_like(), pipeline_name="P", parameters={})
    assert record.status == "Failed"
    assert record.failure_reason == "step 'Train' failed: AlgorithmError: training diverged"
    assert statuses(record) == {"Prep": "Succeeded", "Train": "Failed", "Eval": "NotStarted",
                                "Review": "NotStarted", "Register": "NotStarted", "TooHigh": "NotStarted"}  # fmt: skip
    assert harness.executors["Processing"].called("Eval") == 0
    log = Path(record.step("Train").log_path or "").read_text()
    assert "training diverged" in log and "attempt 1 failed: AlgorithmError" in log


def test_an_unresolvable_reference_fails_the_step_naming_it(harness: Harness) -> None:
    raw = definition([processing("A"), training("T", get("Steps.A." + OUT.format("missing")))])
    record = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert record.step("T").status == "Failed"
    assert record.step("T").failure_reason == (
        "cannot resolve {'Get': \"Steps.A.ProcessingOutputConfig.Outputs['missing'].S3Output.S3Uri\"}: "
        "the step's properties have no 'missing'"
    )
    assert harness.executors["Training"].calls == []


def test_an_unexpected_executor_error_is_an_internal_failure(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["A"] = lambda context: {}["boom"]
    record = harness.engine.start(definition([processing("A")]), pipeline_name="P", parameters={})
    assert record.step("A").failure_reason == "internal error in the local Processing executor: KeyError: 'boom'"
    assert "Traceback" in Path(record.step("A").log_path or "").read_text()


def test_parameters_are_typed_as_declared(harness: Harness) -> None:
    raw = definition([processing("A", container_arguments=[get("Parameters.Seed"), join("", get("Parameters.Seed"))])],
                     [parameter("Seed", "Integer", 1)])  # fmt: skip
    record = harness.engine.start(raw, pipeline_name="P", parameters={"Seed": "7"})
    assert harness.executors["Processing"].calls[0].arguments["AppSpecification"]["ContainerArguments"] == [7, "7"]
    assert record.parameters == {"Seed": 7}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"Nope": "1"},
            r"the pipeline declares no parameter 'Nope' \(declared: ApprovalStatus, MseThreshold, Seed\)",
        ),
        ({"Seed": "4.5"}, r"parameter 'Seed' is Integer \(e\.g\. 42\), got '4\.5'"),
        ({"MseThreshold": "high"}, r"parameter 'MseThreshold' is Float \(a finite number, e\.g\. 0\.5\), got 'high'"),
    ],
)
def test_bad_parameter_overrides_are_refused_before_running(
    harness: Harness, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        harness.engine.start(abalone_like(), pipeline_name="P", parameters=overrides)
    assert harness.calls() == 0


def test_boolean_parameters() -> None:
    from showcase.local.definition import Definition, ParameterSpec

    declared = Definition({}, {"Flag": ParameterSpec("Flag", "Boolean", False)}, {}, {})
    assert declared.parameter_values({"Flag": "TRUE"}) == {"Flag": True}
    with pytest.raises(UsageError, match=r"parameter 'Flag' is Boolean \(true or false\), got 'yes'"):
        declared.parameter_values({"Flag": "yes"})


def test_independent_steps_run_in_parallel(harness: Harness) -> None:
    barrier = threading.Barrier(2, timeout=10)

    def meet(context: JobContext) -> dict[str, Any]:
        barrier.wait()  # returns only when the other step is running at the same time
        return {"ProcessingOutputConfig": context.arguments["ProcessingOutputConfig"]}

    for name in ("Left", "Right"):
        harness.executors["Processing"].behaviours[name] = meet
    raw = definition([processing("Left"), processing("Right"), processing("After", DependsOn=["Left", "Right"])])
    record = harness.engine.start(raw, pipeline_name="P", parameters={})
    assert record.status == "Succeeded"
    order = [(e.kind, e.step_name) for e in harness.events if e.step_name]
    first_end = min(order.index(("step_finished", "Left")), order.index(("step_finished", "Right")))
    assert order.index(("step_started", "Left")) < first_end and order.index(("step_started", "Right")) < first_end
    assert order.index(("step_started", "After")) > max(order.index(("step_finished", n)) for n in ("Left", "Right"))


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_showcase_max_parallel_steps_is_the_most_steps_running_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Six independent steps: the first ones wait (up to 5 s) until ``limit`` run together, so the limit is
    reached; every step holds its slot a moment, and none may see more than ``limit`` running."""
    monkeypatch.setenv("SHOWCASE_MAX_PARALLEL_STEPS", str(limit))
    harness = Harness(tmp_path, max_parallel_steps=load_settings(tmp_path).max_parallel_steps)
    together = threading.Condition()
    running, peak = 0, 0

    def crowd(context: JobContext) -> dict[str, Any]:
        nonlocal running, peak
        with together:
            running += 1
            peak = max(peak, running)
            together.notify_all()
            together.wait_for(lambda: peak >= limit, timeout=5)
        time.sleep(0.05)
        with together:
            running -= 1
        return {"ProcessingOutputConfig": context.arguments["ProcessingOutputConfig"]}

    names = [f"S{index}" for index in range(6)]
    for name in names:
        harness.executors["Processing"].behaviours[name] = crowd
    record = harness.engine.start(definition([processing(name) for name in names]), pipeline_name="P", parameters={})
    assert record.status == "Succeeded"
    assert peak == limit


def test_events_and_records(harness: Harness) -> None:
    record = harness.engine.start(definition([processing("A")]), pipeline_name="P", parameters={})
    kinds = [(e.kind, e.status) for e in harness.events]
    assert kinds == [("execution_started", "Executing"), ("step_started", "Executing"),
                     ("step_finished", "Succeeded"), ("execution_finished", "Succeeded")]  # fmt: skip
    assert len(record.execution_id) == 12 and record.execution_id.isalnum() and record.execution_id.islower()
    assert record.execution_arn.endswith(f":pipeline/p/execution/{record.execution_id}")
    stored = ExecutionStore(harness.settings.executions_root).load(record.execution_id)
    assert stored.to_json() == record.to_json()
    step = stored.step("A")
    assert step.start and step.end and step.start <= step.end
    assert Path(step.log_path or "") == harness.settings.executions_root / record.execution_id / "steps" / "A.log"
    assert harness.executors["Processing"].calls[0].work_dir.is_dir()


def test_a_dead_runner_shows_as_interrupted(harness: Harness) -> None:
    records = ExecutionStore(harness.settings.executions_root)
    record = ExecutionRecord("deadbeef0001", "arn", "P", pid=_dead_pid())
    record.steps = [ExecutionRecord.from_json({"execution_id": "x", "execution_arn": "", "pipeline_name": "",
                    "steps": [{"name": "A", "type": "Processing", "status": "Executing"}]}).steps[0]]  # fmt: skip
    records.save(record)
    loaded = records.load("deadbeef0001")
    assert loaded.status == "Failed"
    assert loaded.failure_reason and loaded.failure_reason.startswith("interrupted: the process running it")
    assert loaded.step("A").status == "Failed"


def test_an_unknown_execution_id_says_how_to_find_ids(harness: Harness) -> None:
    with pytest.raises(UsageError, match=r"no execution 'nope' under .*`showcase list` shows the executions"):
        harness.engine.retry("nope")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


CHILD = """
import sys, time
from pathlib import Path
from tests.local_fakes import Harness, definition, processing
harness = Harness(Path(sys.argv[1]))
harness.executors["Processing"].behaviours["Slow"] = lambda context: time.sleep(60) or {}
harness.engine.start(definition([processing("Slow")]), pipeline_name="P", parameters={})
"""


def test_a_killed_runner_leaves_a_retryable_failed_execution(harness: Harness) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(harness.settings.home)], cwd=Path(__file__).parents[1])
    records = ExecutionStore(harness.settings.executions_root)
    try:
        for _ in range(600):
            running = records.list()
            if running and running[0].step("Slow").status == "Executing":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the child never started its step")
    finally:
        child.kill()
        child.wait()
    record = records.load(running[0].execution_id)
    assert record.status == "Failed" and record.step("Slow").failure_reason == "interrupted"
    retried = harness.engine.retry(record.execution_id)
    assert retried.status == "Succeeded" and retried.step("Slow").status == "Succeeded"


def test_a_branch_not_taken_is_skipped_even_when_the_fail_branch_ends_the_run_first(harness: Harness) -> None:
    """The Fail branch ends the execution while the other branch's step still waits for a slow dependency: once
    that dependency ends, the step on the branch not taken is Skipped (it never stays NotStarted)."""

    def slow(context: object) -> dict[str, object]:
        time.sleep(1.0)
        return {}

    harness.executors["Processing"].behaviours["Slow"] = slow
    register = {**processing("Register"), "DependsOn": ["Slow"]}
    gate = condition("Gate", [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}], [register], [fail("Stop", "no")])
    record = harness.engine.start(definition([processing("Slow"), gate]), pipeline_name="P", parameters={})
    assert record.status == "Failed"
    assert statuses(record) == {"Slow": "Succeeded", "Gate": "Succeeded", "Register": "Skipped", "Stop": "Failed"}
