"""Tables survive a pipe: with no terminal, or an 80-column one, every value is printed whole, on one line.

Each test runs the real ``showcase`` with stdout a pipe and ``COLUMNS=80`` over a home holding names of 60 to 90
characters, the kind a user copies into the next command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.registry import Registry
from showcase.settings import load
from tests.conftest import REPO
from tests.local_fakes import Harness, definition, fail, processing

LONG_PIPELINE = "a-pipeline-name-long-enough-that-no-eighty-column-table-could-hold-it-whole-" + "x" * 14
LONG_STEP = "A_step_name_of_sixty_four_characters_the_longest_SageMaker_takes"
LONG_GROUP = "a-model-package-group-of-sixty-three-characters-the-most-it-tak"


def showcase(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    return subprocess.run(
        [sys.executable, "-m", "showcase.cli.main", "--home", str(home), *argv],
        cwd=REPO, env={**env, "COLUMNS": "80", "TERM": "xterm"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def whole_on_one_line(text: str, value: str) -> bool:
    return any(value in line for line in text.splitlines())


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    harness = Harness(tmp_path)
    steps = [processing(LONG_STEP), fail("Stop", "a reason")]
    harness.engine.start(definition(steps), pipeline_name=LONG_PIPELINE, parameters={})
    registry = Registry(load(tmp_path).registry_path)
    registry.create_model_package(ModelPackageGroupName=LONG_GROUP, ModelApprovalStatus="Approved")
    return tmp_path


def test_names_are_long_enough_to_be_cut() -> None:
    assert min(len(LONG_PIPELINE), len(LONG_STEP), len(LONG_GROUP)) >= 60


def test_the_execution_list_prints_every_name_whole(home: Path) -> None:
    result = showcase(home, "list")
    assert result.returncode == 0, result.stderr
    assert whole_on_one_line(result.stdout, LONG_PIPELINE)
    assert len(result.stdout.splitlines()) == 2  # the header and the one execution: nothing wrapped


def test_describe_prints_every_step_name_whole(home: Path) -> None:
    (execution_id,) = [p.name for p in load(home).executions_root.iterdir()]
    result = showcase(home, "describe", execution_id)
    assert result.returncode == 0, result.stderr
    assert whole_on_one_line(result.stdout, LONG_STEP) and whole_on_one_line(result.stdout, LONG_PIPELINE)
    step_rows = [line.split()[:3] for line in result.stdout.splitlines()]
    assert [LONG_STEP, "Processing", "Succeeded"] in step_rows and ["Stop", "Fail", "Failed"] in step_rows


def test_the_registry_prints_groups_and_arns_whole(home: Path) -> None:
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:model-package/{LONG_GROUP.lower()}/1"
    listed = showcase(home, "registry", "list")
    assert listed.returncode == 0, listed.stderr
    assert whole_on_one_line(listed.stdout, f"{LONG_GROUP}/1") and whole_on_one_line(listed.stdout, arn)
    groups = showcase(home, "registry", "groups")
    assert whole_on_one_line(groups.stdout, LONG_GROUP)
