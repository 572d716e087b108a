"""A training job's requirements.txt is checked against this environment before the job runs, never installed.

SDK v3 ModelTrainer(source_code=SourceCode(requirements=...)) through SageMaker's own driver is in
test_parity_e2e.py (its jobs carry a requirements file).
"""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.errors import StepFailed
from showcase.local.images.requirements import unmet, v3_requirements_file
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_training_script_mode import HELPER, SOURCE_TAR, TRAIN, script_mode_arguments, tar_gz

NUMPY = importlib.metadata.version("numpy")


def test_each_unmet_requirement_is_named_with_what_is_installed(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("numpy<1.0  # an old pin\n")
    (tmp_path / "requirements.txt").write_text(
        "# training needs\n"
        "--extra-index-url https://example.invalid/simple\n"
        "-r base.txt\n"
        f"numpy=={NUMPY}\n"
        "Scikit_Learn>=1.0\n"
        "no-such-distribution-here>=2\n"
        'pywin32>=300; sys_platform == "win32"\n'
        "xgboost-cpu[dask]>=1.0\n"
        "./vendored/package\n"
    )
    assert unmet(tmp_path / "requirements.txt") == [
        f"numpy<1.0 (installed: {NUMPY})",
        "no-such-distribution-here>=2 (not installed)",
        "./vendored/package (not a requirement this runtime can check: a path, URL or editable install)",
    ]


def test_the_v3_driver_names_the_file_it_installs(tmp_path: Path) -> None:
    driver = tmp_path / "input" / "data" / "sm_drivers" / "sm_train.sh"
    driver.parent.mkdir(parents=True)
    driver.write_text(
        'cd /opt/ml/input/data/code\n\necho "Installing requirements"\n'
        "$SM_PYTHON_CMD /opt/ml/input/data/sm_drivers/scripts/install_requirements.py deps/train.txt\n"
    )
    assert v3_requirements_file(driver, tmp_path) is None  # named, but not in the source
    wanted = tmp_path / "input" / "data" / "code" / "deps" / "train.txt"
    wanted.parent.mkdir(parents=True)
    wanted.write_text("numpy\n")
    assert v3_requirements_file(driver, tmp_path) == wanted


@pytest.fixture()
def context(tmp_path: Path) -> JobContext:
    work = tmp_path / "work"
    work.mkdir()
    store = ObjectStore(tmp_path / "store")
    store.put_bytes("s3://showcase-local/data/train/numbers.txt", b"1 2 3 4")
    store.put_bytes("s3://showcase-local/data/validation/numbers.txt", b"5 6")
    registry = Registry(tmp_path / "registry.sqlite")
    return JobContext("P", "abc123def456", "MyTraining", "Training", script_mode_arguments(), work, io.StringIO(),
                      store, registry)  # fmt: skip


def test_a_script_mode_job_asking_for_what_is_not_installed_is_refused_before_it_runs(context: JobContext) -> None:
    requirements = "numpy<1.0\nno-such-distribution-here\n"
    source = {"train.py": TRAIN, "helper.py": HELPER, "requirements.txt": requirements}
    context.store.put_bytes(SOURCE_TAR, tar_gz(source))
    with pytest.raises(StepFailed) as caught:
        STEP_TYPES["Training"].executor.run(context)
    message = str(caught.value)
    assert message.startswith(
        "ClientError: step MyTraining: /opt/ml/code/requirements.txt asks for 2 requirement(s) this environment "
        f"does not meet: numpy<1.0 (installed: {NUMPY}); no-such-distribution-here (not installed). "
    )
    assert "install them into the environment that runs the pipeline (e.g. pip install -r requirements.txt)" in message
    assert "trained on" not in context.log.getvalue()  # type: ignore[attr-defined]  (the script never ran)
    assert not (context.work_dir / "model").exists() or not any((context.work_dir / "model").iterdir())


def test_a_script_mode_job_whose_requirements_are_met_runs_and_installs_nothing(context: JobContext) -> None:
    requirements = f"numpy>={NUMPY}\nscikit-learn\n"
    source = {"train.py": TRAIN, "helper.py": HELPER, "requirements.txt": requirements}
    context.store.put_bytes(SOURCE_TAR, tar_gz(source))
    before = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
    properties = STEP_TYPES["Training"].executor.run(context)
    assert properties["TrainingJobStatus"] == "Completed"
    log = context.log.getvalue()  # type: ignore[attr-defined]
    assert "/opt/ml/code/requirements.txt: every requirement is met by this environment" in log
    assert sorted(d.metadata["Name"] for d in importlib.metadata.distributions()) == before


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        (["-m", "pip", "install", "-r", "{met}"], 0, "is met by this environment; nothing installed"),
        (["-m", "pip", "install", "-r", "{unmet}"], 1, "no-such-distribution-here (not installed)"),
        (["-m", "pip", "install", "requests"], 1, "pip is not available to local jobs"),
    ],
)
def test_pip_in_a_job_checks_and_installs_nothing(tmp_path: Path, command: list[str], code: int, said: str) -> None:
    (tmp_path / "met.txt").write_text("numpy\n")
    (tmp_path / "unmet.txt").write_text("no-such-distribution-here\n")
    with container.job_tools() as tools:
        words = [word.format(met=tmp_path / "met.txt", unmet=tmp_path / "unmet.txt") for word in command]
        result = subprocess.run([sys.executable, *words], env=tools, capture_output=True, text=True, timeout=60)
    assert result.returncode == code
    assert said in result.stdout + result.stderr
