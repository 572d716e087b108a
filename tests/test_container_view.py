"""Each job's own /opt/ml: scripts that hard-code container paths, parallel jobs, and the fallback without it.

The namespace view needs Linux with mount namespaces (as root, or with user namespaces); where this host
has none, the view cases are reported as errors by the availability check itself, not skipped.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import StepFailed
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore

SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "s3://showcase-local"

# A processing script written for the container: every path hard-coded, nothing passed as an argument.
HARD_CODED = """\
import json, os, pathlib, sys, time
name = sys.argv[1]
numbers = [int(n) for n in pathlib.Path("/opt/ml/processing/input/data/numbers.txt").read_text().split()]
out = pathlib.Path("/opt/ml/processing/output")
(out / "mark").write_text(name)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
marks = sorted(p.read_text() for p in out.glob("mark"))
(out / "result.json").write_text(json.dumps({"name": name, "sum": sum(numbers), "marks": marks,
                                             "opt": sorted(os.listdir("/opt"))}))
pathlib.Path("/opt/ml/output/message").write_text(f"{name} summed {len(numbers)} numbers")
"""


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "store")
    store.put_bytes(f"{BUCKET}/code/job.py", HARD_CODED.encode())
    store.put_bytes(f"{BUCKET}/data/numbers.txt", b"1 2 3 4")
    return store


def processing(name: str, *extra: str) -> dict[str, Any]:
    return {
        "AppSpecification": {
            "ImageUri": SKLEARN_IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": [name, *extra],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {"S3Uri": f"{BUCKET}/code/job.py", "LocalPath": "/opt/ml/processing/input/code"},
            },
            {"InputName": "data", "S3Input": {"S3Uri": f"{BUCKET}/data", "LocalPath": "/opt/ml/processing/input/data"}},
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {"S3Uri": f"{BUCKET}/out/{name}", "LocalPath": "/opt/ml/processing/output"},
                }
            ]
        },
    }


def context(tmp_path: Path, store: ObjectStore, name: str, arguments: dict[str, Any]) -> JobContext:
    work_dir = tmp_path / "work" / name
    work_dir.mkdir(parents=True)
    return JobContext(
        pipeline_name="P",
        execution_id="e1",
        step_name=name,
        step_type="Processing",
        arguments=arguments,
        work_dir=work_dir,
        log=io.StringIO(),
        store=store,
        registry=Registry(tmp_path / "registry.sqlite"),
    )


def test_this_host_gives_jobs_their_own_opt_ml() -> None:
    found = container.availability()
    assert found.available, f"no container view on this host: {found.reason}"


def test_a_script_hard_coding_container_paths_runs_unchanged(tmp_path: Path, store: ObjectStore) -> None:
    job = context(tmp_path, store, "Solo", processing("Solo"))
    properties = STEP_TYPES["Processing"].executor.run(job)
    result = json.loads(store.get_bytes(f"{BUCKET}/out/Solo/result.json"))
    assert result["sum"] == 10
    # The host's /opt stays visible beside /opt/ml, and the host itself gains no /opt/ml.
    host_opt = sorted(path.name for path in Path("/opt").iterdir())
    assert result["opt"] == sorted({*host_opt, "ml"})
    assert not Path("/opt/ml/processing").exists()
    assert properties["ExitMessage"] == "Solo summed 4 numbers"


def test_parallel_jobs_each_see_their_own_opt_ml(tmp_path: Path, store: ObjectStore) -> None:
    jobs = [context(tmp_path, store, name, processing(name, "1.0")) for name in ("Left", "Right")]
    errors: list[BaseException] = []

    def run(job: JobContext) -> None:
        try:
            STEP_TYPES["Processing"].executor.run(job)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for name in ("Left", "Right"):
        result = json.loads(store.get_bytes(f"{BUCKET}/out/{name}/result.json"))
        assert (result["name"], result["marks"]) == (name, [name])


def test_without_the_view_a_hard_coded_path_fails_naming_it_and_why(
    tmp_path: Path, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOWCASE_CONTAINER_VIEW", "off")
    job = context(tmp_path, store, "Fallback", processing("Fallback"))
    with pytest.raises(StepFailed) as failed:
        STEP_TYPES["Processing"].executor.run(job)
    assert str(failed.value).startswith("AlgorithmError: ProcessingJob ")
    assert (
        "the job used /opt/ml/processing/input/data/numbers.txt, which does not exist on this host: jobs run "
        "without their own /opt/ml here (SHOWCASE_CONTAINER_VIEW=off)" in str(failed.value)
    )


def test_without_the_view_the_v3_driver_is_refused_before_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOWCASE_CONTAINER_VIEW", "off")
    arguments = {
        "AlgorithmSpecification": {
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash"],
            "ContainerArguments": ["-c", "chmod +x /opt/ml/input/data/sm_drivers/sm_train.sh && ..."],
        },
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/model"},
    }
    (problem,) = STEP_TYPES["Training"].executor.problems(arguments)
    assert "sm_train.sh driver" in problem and problem.endswith("(SHOWCASE_CONTAINER_VIEW=off)")


def test_what_a_training_job_writes_to_output_failure_is_its_failure_reason(tmp_path: Path, store: ObjectStore) -> None:
    script = (
        "import pathlib, sys\n"
        "pathlib.Path('/opt/ml/output/failure').write_text('ClientError: the train channel holds no rows')\n"
        "sys.exit(2)\n"
    )
    store.put_bytes(f"{BUCKET}/train/code/fit.py", script.encode())
    arguments = {
        "AlgorithmSpecification": {
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/fit.py"],
        },
        "InputDataConfig": [
            {
                "ChannelName": "code",
                "DataSource": {"S3DataSource": {"S3Uri": f"{BUCKET}/train/code", "S3DataType": "S3Prefix"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/model"},
    }
    job = context(tmp_path, store, "Fit", arguments)
    with pytest.raises(StepFailed, match=r"^ClientError: the train channel holds no rows$"):
        STEP_TYPES["Training"].executor.run(job)


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None or not Path("/usr/bin/python3").is_file(),
    reason="needs root to become an unprivileged user (setpriv) and a system python3 that user can run",
)
def test_an_unprivileged_user_gets_the_view_through_a_user_namespace() -> None:
    """The guard alone (standard library only), run as nobody by the system's python3."""
    from showcase.local.processes.commands import guarded

    root = Path(tempfile.mkdtemp(prefix="showcase-userns-"))
    try:
        job, scratch = root / "job", root / "scratch"
        for directory in (job, scratch):
            directory.mkdir()
        (job / "probe").write_text("mine")
        for path in (root, job, scratch, job / "probe"):
            path.chmod(0o777)
        command = guarded(
            ["/bin/sh", "-c", "cat /opt/ml/probe && touch /opt/ml/written"],
            {"job_dir": str(job), "scratch": str(scratch)},
        )
        command[0] = "/usr/bin/python3"
        guard = root / "guard.py"  # a copy the user can read: the checkout may sit in a folder only root enters
        shutil.copyfile(command[3], guard)
        guard.chmod(0o644)
        command[3] = str(guard)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "mine"
        assert (job / "written").stat().st_uid == 65534  # written as the user, through the namespace's mapping
    finally:
        shutil.rmtree(root, ignore_errors=True)
