"""What users type on command lines: names that become paths, a state directory, JSON and times.

Each bad input is refused in one line (exit 2 for usage), before it becomes a path or reaches a library that
would raise a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.errors import UsageError
from showcase.settings import load
from tests.conftest import REPO
from tests.local_fakes import Harness, definition, fail, processing

ID = "abcdef123456"


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    command = [sys.executable, "-m", f"showcase.cli.{module}", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def one_line(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


# -- execution ids and step names: they name directories and files ----------------------------------------------


@pytest.fixture()
def home_with_a_record_outside(tmp_path: Path) -> Path:
    """A home with one execution, and a copy of its record planted beside ``executions/``, in ``home/planted``."""
    harness = Harness(tmp_path / "home")
    record = harness.engine.start(definition([processing("Prep")]), pipeline_name="P", parameters={})
    shutil.copytree(harness.settings.executions_root / record.execution_id, tmp_path / "home" / "planted")
    return tmp_path / "home"


@pytest.mark.parametrize(
    "args",
    [["describe", "../planted"], ["retry", "../planted"], ["logs", "../planted", "Prep"], ["describe", ID.upper()]],
)
def test_an_execution_id_is_checked_before_it_becomes_a_path(home_with_a_record_outside: Path, args: list[str]) -> None:
    """``describe ../planted`` used to read the record at ``executions/../planted``."""
    result = run("local", "--home", str(home_with_a_record_outside), *args)
    one_line(
        result, 2, f"argument EXECUTION_ID: execution id {args[1]!r} is not a valid pipeline execution id: 12 lower"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("step", ["../steps/Prep", "/etc/passwd", "a" * 65])
def test_a_step_name_on_the_command_line_follows_the_step_name_rule(step: str) -> None:
    one_line(run("local", "logs", ID, step), 2, "argument STEP: step name")


@pytest.mark.parametrize("name", ["my pipeline", "../x", "under_score", "trailing-"])
def test_a_pipeline_name_on_the_command_line_follows_sagemakers_rule(tmp_path: Path, name: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(definition([fail("F", "x")])))
    result = run("local", "--home", str(tmp_path / "home"), "start", "--definition", str(path), "--pipeline-name", name)
    one_line(result, 2, f"argument --pipeline-name: pipeline name {name!r} is not a valid PipelineName")
    assert not (tmp_path / "home").exists()


def test_a_definition_files_stem_is_a_pipeline_name_only_when_sagemaker_would_take_it(tmp_path: Path) -> None:
    path = tmp_path / "my_definition.json"
    path.write_text(json.dumps(definition([fail("F", "x")])))
    result = run("local", "--home", str(tmp_path / "home"), "start", "--definition", str(path))
    one_line(result, 2, "error: pipeline name 'my_definition' is not a valid PipelineName")


# -- the state directory ---------------------------------------------------------------------------------------

COMMANDS = {
    "local": [["list"], ["start", "--definition", "d.json"], ["store", "ls", "s3://bucket/x"]],
    "registry": [["groups"]],
    "endpoint": [["status"]],
    "monitor": [["list", "--endpoint", "e"]],
}


@pytest.mark.parametrize(("module", "args"), [(m, args) for m, commands in COMMANDS.items() for args in commands])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_home_that_cannot_be_a_directory_is_one_line_for_every_command(
    tmp_path: Path, module: str, args: list[str], where: str
) -> None:
    afile = tmp_path / "state"
    afile.write_text("not a directory")
    home = afile if where == "a file" else afile / "inner"
    said = "is a file, not a directory" if where == "a file" else f"cannot be created: {afile} is a file"
    result = run(module, "--home", str(home), *args)
    one_line(result, 2, f"error: the state directory {str(home)!r} (--home, else SHOWCASE_HOME) {said}")
    assert afile.read_text() == "not a directory"


@pytest.mark.skipif(
    not Path("/proc/1").is_dir() or os.access("/proc/1", os.W_OK), reason="needs a directory no one may create in"
)
def test_a_home_that_cannot_be_created_is_one_line() -> None:
    """``/proc/1`` takes no new entries, even from root (mkdir answers ENOENT there: the old error named no cause)."""
    result = run("local", "--home", "/proc/1/state", "start", "--definition", "d.json")
    one_line(result, 2, "'/proc/1/state' (--home, else SHOWCASE_HOME) cannot be created: no permission to write in")


def test_settings_load_takes_a_home_to_be_made_and_refuses_a_file(tmp_path: Path) -> None:
    assert load(tmp_path / "new" / "home").home == tmp_path / "new" / "home"
    assert not (tmp_path / "new").exists()  # nothing is created by reading the settings
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="is a file, not a directory"):
        load(tmp_path / "f")


# -- JSON and times --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[" * 5000 + "]" * 5000, "nests JSON too deep to read (more than about 1,000 levels)"),
        ('{"seed": ' + "1" * 5000 + "}", "holds an integer of more than 4,300 digits"),
        ('{"region": ', "is not valid JSON: Expecting value at line 1, column 12"),
    ],
)
def test_run_pipeline_k_json_is_one_usage_line(text: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    from showcase.cli.run_pipeline import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["-n", "showcase.pipeline", "--local", "-k", text])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument -k/--kwargs: expected a JSON object, got text that {said}" in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--since", "99999999999h"), ("--since", "9" * 400 + "d"), ("--every", "99999999999d")]
)
def test_a_monitoring_time_too_far_back_is_one_usage_line(tmp_path: Path, flag: str, value: str) -> None:
    """``--since 99999999999h`` used to end in timedelta's OverflowError."""
    result = run("monitor", "--home", str(tmp_path), "run", "--endpoint", "e", flag, value)
    one_line(result, 2, f"argument {flag}: {value!r} is longer than a duration can be (about 100 years at most)")
