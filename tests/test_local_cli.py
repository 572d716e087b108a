"""``showcase start``, ``list``, ``describe``, ``logs`` and ``retry`` as a user runs them (through ``showcase-local``'s
module, the same command): a subprocess over a home holding executions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.local.records import ExecutionRecord, ExecutionStore
from tests.local_fakes import Harness, condition, definition, fail, get, join, parameter, processing


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "showcase.cli.local", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def gate(threshold: float) -> dict[str, object]:
    """A definition with engine-only steps: runs with any executors."""
    check = {"Type": "GreaterThan", "LeftValue": get("Parameters.Score"), "RightValue": threshold}
    message = join(" ", "score", get("Parameters.Score"), "is too low")
    return definition([condition("Gate", [check], [], [fail("Stop", message)])], [parameter("Score", "Float", 1.0)])


@pytest.fixture()
def executions(tmp_path: Path) -> tuple[Path, ExecutionRecord, ExecutionRecord]:
    harness = Harness(tmp_path)
    ok = harness.engine.start(definition([processing("Prep")]), pipeline_name="Good", parameters={})
    bad = harness.engine.start(gate(5.0), pipeline_name="Gated", parameters={"Score": "2.5"})
    return tmp_path, ok, bad


def test_list_shows_executions_newest_first(executions: tuple[Path, ExecutionRecord, ExecutionRecord]) -> None:
    home, ok, bad = executions
    result = cli(home, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.index(bad.execution_id) < result.stdout.index(ok.execution_id)
    assert "Gated" in result.stdout and "Failed" in result.stdout and "Succeeded" in result.stdout


def test_list_of_an_empty_home_is_an_empty_result(tmp_path: Path) -> None:
    result = cli(tmp_path, "list")
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == f"no executions under {tmp_path / 'executions'}\n"


def test_describe_shows_steps_parameters_and_reasons(executions: tuple[Path, ExecutionRecord, ExecutionRecord]) -> None:
    home, _, bad = executions
    result = cli(home, "describe", bad.execution_id)
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "failure reason: score 2.5 is too low" in flat
    assert "Score" in flat and "2.5" in flat
    assert "Gate" in flat and "Stop" in flat and "Skipped" not in flat and "Failed" in flat
    assert (
        f"Stop failure reason: score 2.5 is too low\nStop log: {home}/executions/{bad.execution_id}/steps/Stop.log"
        in (result.stdout)
    )


def test_logs_prints_a_step_log(executions: tuple[Path, ExecutionRecord, ExecutionRecord]) -> None:
    home, _, bad = executions
    result = cli(home, "logs", bad.execution_id, "Stop")
    assert result.returncode == 0 and "Fail step: score 2.5 is too low" in result.stdout


def test_logs_of_an_unknown_step_is_not_found(executions: tuple[Path, ExecutionRecord, ExecutionRecord]) -> None:
    home, _, bad = executions
    result = cli(home, "logs", bad.execution_id, "Nope")
    assert result.returncode == 1
    expected = f"error: execution {bad.execution_id} has no step or tuning trial 'Nope' (steps: Gate, Stop)"
    assert result.stderr.strip() == expected
    typo = cli(home, "logs", bad.execution_id, "Stp")
    assert typo.returncode == 1 and typo.stderr.strip().endswith("(steps: Gate, Stop) (did you mean 'Stop'?)")


@pytest.mark.parametrize("command", ["describe", "retry"])
def test_an_unknown_execution_id_says_how_to_find_ids(tmp_path: Path, command: str) -> None:
    result = cli(tmp_path, command, "doesnotexist")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: no execution 'doesnotexist' under ")
    assert "`showcase list` shows the executions there" in lines[0]


def test_a_bad_parameter_flag_is_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "start", "--definition", "x.json", "--parameter", "novalue")
    assert result.returncode == 2
    assert "--parameter: expected Name=Value, got 'novalue'" in result.stderr


def test_start_runs_a_definition_file_and_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(gate(5.0)))
    result = cli(tmp_path / "home", "start", "--definition", str(path), "--parameter", "Score=7")
    assert result.returncode == 0, result.stderr
    assert "step Gate (Condition) Succeeded" in result.stderr  # progress on stderr, the outcome on stdout
    assert re.match(r"^execution \w{12}: Succeeded$", result.stdout.splitlines()[-1])
    assert result.stdout.splitlines()[0].split() == ["STEP", "TYPE", "STATUS", "STARTED", "ENDED", "DURATION"]
    failed = cli(tmp_path / "home", "start", "--definition", str(path))
    assert failed.returncode == 1
    assert "Failed: score 1.0 is too low. Inspect it with `showcase describe" in failed.stdout.splitlines()[-1]


def test_start_refuses_a_bad_definition_before_running(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(definition([{"Name": "Notify", "Type": "Lambda", "Arguments": {}}])))
    result = cli(tmp_path / "home", "start", "--definition", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: the definition cannot run locally (1 problem): step 'Notify' (Lambda)")
    assert not (tmp_path / "home" / "executions").exists()


def test_start_refuses_a_wrongly_typed_parameter(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(gate(5.0)))
    result = cli(tmp_path / "home", "start", "--definition", str(path), "--parameter", "Score=high")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --parameter Score=high: expected a Float value (a finite number, e.g. 0.5)"
    typo = cli(tmp_path / "home", "start", "--definition", str(path), "--parameter", "Scor=7")
    assert typo.returncode == 2 and "no parameter 'Scor' (did you mean 'Score'?)" in typo.stderr
    assert not (tmp_path / "home" / "executions").exists()


def test_retry_reruns_the_failed_step(executions: tuple[Path, ExecutionRecord, ExecutionRecord]) -> None:
    home, _, bad = executions
    result = cli(home, "retry", bad.execution_id)
    assert result.returncode == 1
    assert "step Gate" not in result.stderr  # the Condition succeeded before: reused, not rerun
    assert "step Stop (Fail) Failed" in result.stderr
    assert f"execution {bad.execution_id}: Failed: score 2.5 is too low" in result.stdout


def test_a_failed_retry_reports_once_in_one_clean_line(tmp_path: Path) -> None:
    """The reason (here a sentence with its own full stop) is said once, in the last line on stdout, not followed
    by '.;'; progress goes to stderr, with no reason in it."""
    stop = fail("Stop", join(" ", "score", get("Parameters.Score"), "is too low."))
    gated = definition(
        [
            condition(
                "Gate", [{"Type": "GreaterThan", "LeftValue": get("Parameters.Score"), "RightValue": 5.0}], [], [stop]
            )
        ],
        [parameter("Score", "Float", 1.0)],
    )
    record = Harness(tmp_path).engine.start(gated, pipeline_name="Gated", parameters={})
    result = cli(tmp_path, "retry", record.execution_id)
    assert result.returncode == 1
    assert (result.stdout + result.stderr).count("is too low") == 1
    assert "step Stop (Fail) Failed" in result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"execution {record.execution_id}: Failed: score 1.0 is too low. Inspect it with "
        f"`showcase describe {record.execution_id}`; its log: `showcase logs {record.execution_id} Stop`; fix the "
        f"cause, then `showcase retry {record.execution_id}`"
    )
    # The retried execution keeps its start (SageMaker's CreationTime): `list` shows it running from there to the
    # retry's end, as the dashboard does.
    retried = ExecutionStore(tmp_path / "executions").load(record.execution_id)
    assert retried.start == record.start and retried.end is not None and record.end is not None
    assert retried.end > record.end
    row = next(line for line in cli(tmp_path, "list").stdout.splitlines() if record.execution_id in line)
    shown = float(re.search(r"(\d+\.\d) s", row).group(1))  # type: ignore[union-attr]
    assert shown == pytest.approx((retried.end - record.start).total_seconds(), abs=0.051)


def test_retrying_an_execution_that_did_not_fail_is_refused_by_its_state(
    executions: tuple[Path, ExecutionRecord, ExecutionRecord],
) -> None:
    """The command line is right (exit 2 would say otherwise): the execution's state refuses it, exit 1."""
    home, ok, _ = executions
    result = cli(home, "retry", ok.execution_id)
    assert result.returncode == 1 and result.stdout == ""
    refused = f"error: execution {ok.execution_id} is Succeeded; only a Failed or Stopped execution can be retried\n"
    assert result.stderr == refused
