"""``@step`` functions built with the SageMaker Python SDK v2 run as SageMaker runs them: a Training job whose process
runs v2's own entry point (``sagemaker.remote_function.invoke_function``) with the SDK v2 environment's Python, and
checks the function's dependency file against that environment.

The pipelines are tests/function_step_pipeline_v2.py's, built in the SDK v2 environment by ``showcase run -n`` or,
through the local API, by that environment's Python as a user's own v2 process (publish, start,
``execution.result``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from showcase.local import list_executions
from showcase.local.processes import container
from showcase.local.steps import remote_function
from showcase.settings import load
from showcase.statuses import StepStatus
from tests import function_step_pipeline_v2
from tests.api.conftest import start_api, stop_api
from tests.conftest import REPO
from tests.sdk_v2_support import SDK_V2_VERSION, TELEMETRY_OFF, sdk_v2_python

MODULE = "tests.function_step_pipeline_v2"


def requirements_dir(tmp_path: Path) -> Path:
    """Each variant's dependency file (``function_step_pipeline_v2.REQUIREMENTS``)."""
    for variant, text in function_step_pipeline_v2.REQUIREMENTS.items():
        (tmp_path / "requirements" / variant).mkdir(parents=True)
        (tmp_path / "requirements" / variant / "requirements.txt").write_text(text)
    return tmp_path / "requirements"


@pytest.mark.e2e
def test_a_v2_functions_value_feeds_the_next_and_a_condition_and_execution_result_reads_it(tmp_path: Path) -> None:
    """prepare (its requirements.txt asks for the SDK v2; the ``python`` it runs as a subprocess imports the SDK v2,
    and its ``pip install -r`` of that file finds it met) -> summarize -> check-total (Std:JsonGet over summarize's
    results.json) -> report, published and started by the SDK v2 through the local API; each job runs v2's entry
    point with the SDK v2 environment's Python, and v2's ``execution.result`` reads each value back."""
    python = sdk_v2_python()
    requirements = requirements_dir(tmp_path)
    api = start_api(tmp_path / "home")
    try:
        config = tmp_path / "sagemaker-config.yaml"
        config.write_text(TELEMETRY_OFF)
        env = api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_SUPPRESS_V2_WARNING="1")
        command = [str(python), "-m", MODULE, "chain", str(requirements)]
        result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    finally:
        stop_api(api)
    assert result.returncode == 0, result.stderr[-3000:]
    seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "status": "Succeeded",
        "results": {
            "prepare": {
                "values": [0, 1, 4, 9, 16],
                "rows": 5,
                "sdk": SDK_V2_VERSION,
                "python": SDK_V2_VERSION,
                "pip": 0,
            },
            "summarize": {"total": 30, "rows": 5},
            "report": "5 rows, total 30",
        },
    }
    (record,) = list_executions(load(tmp_path / "home"))
    assert record.step("too-small").status == StepStatus.SKIPPED
    log = Path(str(record.step("prepare").log_path)).read_text(encoding="utf-8")
    assert f"{python} -m {remote_function.ENTRY_POINT_V2} " in log
    assert "requirements.txt: every requirement is met by the SDK v2 environment" in log


@pytest.mark.e2e
def test_a_v2_function_that_raises_fails_its_step_and_its_dependencies_are_checked_in_the_v2_environment(
    tmp_path: Path,
) -> None:
    """``validate`` raises: the step fails with the exception as v2's entry point writes it to
    /opt/ml/output/failure; ``unmet`` asks for ``sagemaker>=3``, which the environment running the pipeline has and
    the SDK v2 environment, where the function would run, has not."""
    sdk_v2_python()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    kwargs = json.dumps({"variant": "raises", "requirements_dir": str(requirements_dir(tmp_path))})
    home = tmp_path / "home"
    command = [sys.executable, "-m", "showcase", "--home", str(home), "run", "-n", MODULE, "-k", kwargs]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    (record,) = list_executions(load(home))
    validate, unmet = record.step("validate"), record.step("unmet")
    assert (validate.status, validate.failure_reason) == (
        StepStatus.FAILED,
        "ValueError('the data has 0 rows; at least 1 is needed')",
    )
    assert unmet.status == StepStatus.FAILED
    assert str(unmet.failure_reason).startswith(
        "ClientError: step unmet: /opt/ml/input/data/pre_exec_script_and_dependencies/requirements.txt asks for 1 "
        f"requirement(s) the SDK v2 environment does not meet: sagemaker>=3 (installed: {SDK_V2_VERSION})."
    )


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        (["python", "-c", "import importlib.metadata as m; print(m.version('sagemaker'))"], 0, SDK_V2_VERSION),
        (["python3", "-c", "import importlib.metadata as m; print(m.version('sagemaker'))"], 0, SDK_V2_VERSION),
        (["pip", "install", "-r", "{v2}"], 0, "is met by this environment; nothing installed"),
        (["pip3", "install", "-r", "{v3}"], 1, f"sagemaker>=3 (installed: {SDK_V2_VERSION})"),
        (["python", "-m", "pip", "install", "-r", "{v2}"], 0, "is met by this environment; nothing installed"),
        (["python3", "-m", "pip", "install", "-r", "{v3}"], 1, f"sagemaker>=3 (installed: {SDK_V2_VERSION})"),
    ],
    ids=["python", "python3", "pip-met", "pip3-unmet", "python-m-pip-met", "python3-m-pip-unmet"],
)
def test_the_python_and_pip_of_a_job_run_with_the_v2_environments_python_are_that_environments(
    tmp_path: Path, command: list[str], code: int, said: str
) -> None:
    """``job_tools(python)``: a job's ``python``/``python3`` are the interpreter it runs with, and its
    ``pip``/``pip3``/``python -m pip`` check a requirements file against that interpreter's packages: the SDK v2
    environment meets ``sagemaker>=2.256,<3`` and not ``sagemaker>=3``, which the environment running the tests
    meets."""
    requirements = requirements_dir(tmp_path)
    words = [
        word.format(v2=requirements / "chain" / "requirements.txt", v3=requirements / "raises" / "requirements.txt")
        for word in command
    ]
    with container.job_tools(str(sdk_v2_python())) as tools:
        result = subprocess.run(words, env=tools, capture_output=True, text=True, timeout=60)
    assert (result.returncode, said in result.stdout + result.stderr) == (code, True), result.stderr
