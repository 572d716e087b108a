"""``showcase run`` and the seed's run_pipeline.py as a new user meets them: the first screen, and the mistakes
refused before anything runs (each in one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.cli.progress import digest
from tests.conftest import REPO

SCRIPT = REPO / "pipelines" / "run_pipeline.py"


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    return {**env, "SHOWCASE_HOME": str(home)}


def showcase(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "showcase.cli.main", *argv]
    return subprocess.run(command, cwd=REPO, env=environment(home), capture_output=True, text=True, timeout=300)


@pytest.mark.e2e
def test_the_first_screen_sums_the_definition_up_and_json_is_one_document(tmp_path: Path) -> None:
    """The definition used to come first, 812 lines of it; now one line says how it was built and one names its
    steps, digest and file."""
    home = tmp_path / "home"
    result = showcase(home, "run", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout: DescribePipelineExecution, steps and parameters
    execution_id = document["PipelineExecutionDisplayName"]
    assert document["PipelineExecutionStatus"] == "Succeeded"
    steps = {step["StepName"]: step for step in document["PipelineExecutionSteps"]}
    assert steps["RegisterModel"]["Metadata"]["RegisterModel"]["Arn"].endswith("/crayonshowcasepackagegroup/1")
    kept = home / "executions" / execution_id / "definition.json"
    built, first = result.stderr.splitlines()[:2]  # how the definition was built, then the execution
    assert built == "definition of crayonShowcasePipeline: built with the SageMaker Python SDK 3.27.0"
    assert first == (
        f"execution {execution_id} started; definition: 7 steps (2 Processing, 1 QualityCheck, 1 Training, "
        f"1 Condition, 1 RegisterModel, 1 Fail), sha256 {digest(json.loads(kept.read_text()))}, kept in {kept}"
    )
    assert '"Version": "2020-12-01"' not in result.stderr  # the definition itself is not printed
    printed = showcase(home, "run", "--print-definition")
    assert printed.returncode == 0, printed.stderr
    assert '"Version": "2020-12-01"' in printed.stderr and printed.stdout.startswith("STEP ")


def test_a_module_path_is_refused_with_its_dotted_name(tmp_path: Path) -> None:
    for command in (["run"], [str(SCRIPT), "--local"]):
        argv = [sys.executable, *(["-m", "showcase.cli.main"] if command == ["run"] else []), *command]
        result = subprocess.run(
            [*argv, "-n", "src/showcase/pipeline.py"], cwd=REPO, env=environment(tmp_path), capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert (
            "argument -n/--module-name: expected a module's dotted name, got the path 'src/showcase/pipeline.py'; "
            "did you mean 'showcase.pipeline'?"
        ) in result.stderr


@pytest.mark.parametrize("given", ["/nowhere/abalone.data", "./missing/abalone.data"])
def test_a_missing_input_path_is_refused_before_anything_runs(tmp_path: Path, given: str) -> None:
    """It used to be found by the PrepareData job, its reason then printed four times."""
    home = tmp_path / "home"
    result = showcase(home, "run", "-p", f"InputData={given}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: -p InputData={given}: no such file or directory; give an existing path, or an s3:// or https:// URI"
    )
    assert result.stdout == "" and not (home / "executions").exists()


def test_a_relative_input_path_is_made_absolute_for_the_job(tmp_path: Path, abalone_path: Path) -> None:
    """A job runs in a directory of its own: ``./data.csv`` would name another file there."""
    from showcase.cli.local import local_paths

    relative = os.path.relpath(abalone_path)
    declared = {"Parameters": [{"Name": "InputData", "Type": "String"}, {"Name": "Seed", "Type": "Integer"}]}
    checked = local_paths({"InputData": f"./{relative}", "Seed": "7"}, declared)
    assert checked == {"InputData": str(abalone_path.resolve()), "Seed": "7"}
    assert local_paths({"InputData": "s3://b/k"}, declared) == {"InputData": "s3://b/k"}


def test_a_python_without_the_projects_packages_says_to_activate_its_environment(tmp_path: Path) -> None:
    """``python pipelines/run_pipeline.py`` with another Python used to end in ``No module named 'rich'``. Here the
    checkout's own interpreter without its site-packages (``-S``) stands for that other Python."""
    venv = REPO / ".venv"
    assert (venv / "pyvenv.cfg").is_file(), "make setup makes the .venv this test needs"
    for script in ("pipelines/run_pipeline.py", "deploy/build_config_file.py", "predict/predict.py"):
        result = subprocess.run(
            [sys.executable, "-S", script, "--help"], cwd=REPO, env=environment(tmp_path), capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
        assert "lacks the project's packages (boto3, rich" in result.stderr
        assert f"activate it first (source {venv}/bin/activate)" in result.stderr and "Traceback" not in result.stderr


def test_dashboard_open_without_a_browser_says_so(tmp_path: Path) -> None:
    env = {**environment(tmp_path), "PATH": str(tmp_path / "no-browsers-here")}
    env.pop("BROWSER", None)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    command = [sys.executable, "-m", "showcase.cli.main", "dashboard", "--port", "0", "--open"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        url = process.stdout.readline().removeprefix("dashboard on ").strip()
        assert url.startswith("http://127.0.0.1:")
        said = process.stderr.readline()
        assert said == f"--open: no web browser found here (set BROWSER to one); open {url} yourself\n"
    finally:
        process.terminate()
        process.wait(timeout=60)
