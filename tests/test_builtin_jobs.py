"""The built-in images' jobs (XGBoost, Model Monitor's analyzer) run in job processes of their own, as on SageMaker.

What is checked: the runner's process never loads their data or their libraries; the job sees SageMaker's
/opt/ml layout and config files; what the algorithm writes to /opt/ml/output/failure is the FailureReason; a
job is stopped (SIGTERM, then SIGKILL) when the lines it writes say so. A tuning job's pruning across the process
boundary is in test_tuning_step.py.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import JobStopped, StepFailed
from showcase.local import images
from showcase.local.jobs import JobContext
from showcase.local.processes import commands, container, subprocesses
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_executors import BUCKET, training_arguments

REPO = Path(__file__).resolve().parents[1]
ROWS = "\n".join(f"{(i % 7) * 1.5:.2f},{i % 7:.1f},{(i * 3) % 5:.1f}" for i in range(120)) + "\n"


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "store")
    for name in ("train", "validation"):
        store.put_bytes(f"{BUCKET}/exec/data/{name}/{name}.csv", ROWS.encode())
    return store


def context_for(tmp_path: Path, store: ObjectStore, arguments: dict[str, Any]) -> JobContext:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    registry = Registry(tmp_path / "registry.sqlite")
    return JobContext("P", "exec1", "Train", "Training", arguments, work, io.StringIO(), store, registry)


RUNNER = """
import io, json, sys
from pathlib import Path
from showcase.local import definition as definitions
from showcase.local.steps import STEP_TYPES
from showcase.local.jobs import JobContext
from showcase.registry import Registry
from showcase.store import ObjectStore
tmp = Path(sys.argv[1])
given = json.loads((tmp / "given.json").read_text())
store, registry = ObjectStore(tmp / "store"), Registry(tmp / "registry.sqlite")
for uri in given["uris"]:
    store.put_bytes(uri, given["rows"].encode())
(tmp / "t").mkdir()
(tmp / "q").mkdir()
log = io.StringIO()
context = JobContext("P", "e", "T", "Training", given["training"], tmp / "t", log, store, registry)
trained = STEP_TYPES["Training"].executor.run(context)
raw = {"Version": "2020-12-01", "Parameters": [], "Steps": [given["check"]]}
spec = definitions.parse(raw, STEP_TYPES).steps["DataQualityBaseline"]
context = JobContext("P", "e", spec.name, spec.type, spec.arguments, tmp / "q", log, store, registry)
checked = STEP_TYPES["QualityCheck"].executor.run(context)
loaded = sorted(name for name in ("xgboost", "pandas", "scipy", "sklearn") if name in sys.modules)
print(json.dumps({"loaded": loaded, "status": trained["TrainingJobStatus"],
                  "statistics": store.exists(checked["CalculatedBaselineStatistics"])}))
"""


def test_the_runner_trains_and_baselines_without_loading_the_data_or_its_libraries(tmp_path: Path) -> None:
    """In a fresh interpreter: a Training and a QualityCheck job, then which of their libraries the runner loaded."""
    from tests.test_quality_check import DATA, check_step

    uris = [f"{BUCKET}/exec/data/{name}/{name}.csv" for name in ("train", "validation")]
    given = {"rows": ROWS, "uris": [*uris, f"{DATA}/train_features.csv"], "training": training_arguments(),
             "check": check_step()}  # fmt: skip
    (tmp_path / "given.json").write_text(json.dumps(given))
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"loaded": [], "status": "Completed", "statistics": True}


def test_the_algorithm_job_sees_sagemakers_layout_and_config_files(tmp_path: Path, store: ObjectStore) -> None:
    context = context_for(tmp_path, store, training_arguments())
    properties = STEP_TYPES["Training"].executor.run(context)
    log = context.log.getvalue()  # type: ignore[attr-defined]
    view = container.availability()
    root = "/opt/ml" if view.available else str(context.work_dir)
    assert f"sagemaker-xgboost:3.2-0 (in {context.work_dir}" in log and f" xgboost {root} " in log
    config = context.work_dir / "input" / "config"
    # SageMaker's shapes: hyperparameters as strings, each channel's settings, the one-host cluster.
    assert json.loads((config / "hyperparameters.json").read_text()) == {
        "objective": "reg:squarederror", "num_round": "5", "max_depth": "3", "eta": "0.3", "subsample": "0.9",
    }  # fmt: skip
    assert json.loads((config / "inputdataconfig.json").read_text()) == {
        name: {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
               "RecordWrapperType": "None"}
        for name in ("train", "validation")
    }  # fmt: skip
    resources = json.loads((config / "resourceconfig.json").read_text())
    assert (resources["current_host"], resources["hosts"]) == ("algo-1", ["algo-1"])
    assert (context.work_dir / "model" / "xgboost-model").is_file()
    assert (context.work_dir / "output" / "data").is_dir()
    # The final metrics are the last per-round values the job logged, as SageMaker reads them from the log.
    last = next(line for line in log.splitlines() if line.startswith("[4]#011"))
    logged = dict(part.split(":") for part in last.split("#011")[1:])
    finals = {m["MetricName"]: m["Value"] for m in properties["FinalMetricDataList"]}
    assert finals == {name.replace("-", ":"): float(value) for name, value in logged.items()}


def test_an_algorithm_failure_is_written_to_opt_ml_output_failure_and_is_the_reason(
    tmp_path: Path, store: ObjectStore
) -> None:
    store.put_bytes(f"{BUCKET}/exec/data/train/more.csv", b"1.0,abc,2\n")
    context = context_for(tmp_path, store, training_arguments())
    with pytest.raises(StepFailed) as caught:
        STEP_TYPES["Training"].executor.run(context)
    written = (context.work_dir / "output" / "failure").read_text().strip()
    assert written.startswith("ClientError: Channel 'train': could not read the data as csv")
    assert str(caught.value) == written


def test_anything_else_going_wrong_in_the_algorithm_is_an_algorithm_error(tmp_path: Path) -> None:
    """The container's catch-all: what is not the data's or the hyperparameters' fault is the algorithm's."""
    from showcase.local.images.main import main

    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text('{"num_round": "2"')  # cut short
    assert main(["xgboost", str(tmp_path), "image:1.7-1"]) == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("AlgorithmError: JSONDecodeError: Expecting ',' delimiter")


def test_without_the_view_or_the_job_server_the_algorithm_runs_on_host_paths_in_a_fresh_interpreter(
    tmp_path: Path, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from showcase.local.processes import jobserver

    monkeypatch.setenv("SHOWCASE_CONTAINER_VIEW", "off")
    monkeypatch.setenv("SHOWCASE_JOB_SERVER", "off")
    assert jobserver.server() is None
    context = context_for(tmp_path, store, training_arguments())
    properties = STEP_TYPES["Training"].executor.run(context)
    log = context.log.getvalue()  # type: ignore[attr-defined]
    assert "no /opt/ml of its own (SHOWCASE_CONTAINER_VIEW=off)" in log
    assert f" xgboost {context.work_dir} " in log
    assert properties["TrainingJobStatus"] == "Completed"
    assert store.exists(properties["ModelArtifacts"]["S3ModelArtifacts"])


def test_an_analyzer_that_cannot_profile_its_dataset_says_so_in_its_exit_message(tmp_path: Path) -> None:
    from tests.test_quality_check import run_check

    with pytest.raises(StepFailed, match=r"^the baseline dataset \(1 file\(s\)\) has no rows") as caught:
        run_check(tmp_path, [])
    message = (tmp_path / "work" / "output" / "message").read_text().strip()
    assert str(caught.value).startswith(message)


# -- stopping a job from the lines it writes -------------------------------------------------------------

COUNTER = """\
import signal, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
for i in range(200):
    print(f"round {i}", flush=True)
    time.sleep(0.02)
"""


@pytest.mark.parametrize("on_sigterm", ["die", "ignore"])
def test_a_job_is_stopped_by_what_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_sigterm: str) -> None:
    """SIGTERM first; a job that ignores it is killed once the grace period is over."""
    monkeypatch.setattr(subprocesses, "STOP_GRACE_S", 0.5)
    stop = threading.Event()
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "round 3":
            stop.set()

    log = io.StringIO()
    started = time.monotonic()
    finished = subprocesses.run_logged(
        [sys.executable, "-c", COUNTER, on_sigterm], env=commands.clean_environment({}), cwd=tmp_path,
        log=log, stop=stop, on_line=on_line,
    )  # fmt: skip
    assert finished.stopped and not finished.timed_out
    assert finished.returncode == (-15 if on_sigterm == "die" else -9)
    assert "round 3" in seen and "round 199" not in seen
    assert time.monotonic() - started < 3.5  # the whole run would take 4 s


class _StopAfterRound(io.StringIO):
    """A step log that sets ``stop`` once the job has written the line of round ``round``."""

    def __init__(self, stop: threading.Event, round: int) -> None:
        super().__init__()
        self.stop, self.marker = stop, f"[{round}]#011"

    def write(self, text: str) -> int:
        if text.startswith(self.marker):
            self.stop.set()
        return super().write(text)


def test_a_stopped_algorithm_saves_the_model_so_far_and_it_is_uploaded(tmp_path: Path, store: ObjectStore) -> None:
    """StopTrainingJob's SIGTERM: SageMaker's built-in algorithms save the model trained so far in the grace
    period, and SageMaker uploads what /opt/ml/model holds. The job would take 200,000 rounds; it is stopped
    from its round lines while it trains."""
    from tests.test_executors import _load_model

    stop = threading.Event()
    hyperparameters = {"objective": "reg:squarederror", "num_round": "200000", "max_depth": "2"}
    context = context_for(tmp_path, store, training_arguments(hyperparameters))
    written = _StopAfterRound(stop, 3)
    context = replace(context, log=written, stop=stop)
    with pytest.raises(JobStopped):
        STEP_TYPES["Training"].executor.run(context)
    log = written.getvalue()
    assert "stopped (SIGTERM) after" in log and "saved xgboost-model with Booster.save_model" in log
    assert not (context.work_dir / "output" / "failure").exists()
    (model_uri,) = [uri for uri in store.list(f"{BUCKET}/exec/model/") if uri.endswith("/output/model.tar.gz")]
    rounds = _load_model(store, model_uri, tmp_path).num_boosted_rounds()
    assert 4 <= rounds < 200000
    assert f"stopped (SIGTERM) after {rounds} round(s)" in log


STOPPED_WHILE_SAVING = """
import os, signal, sys
from pathlib import Path
import numpy as np, xgboost
from showcase.local.images import xgboost_algorithm as algorithm
from showcase.local.images.hyperparameters import validate

def stop_first(call):  # StopTrainingJob's SIGTERM, arriving as the model is written or renamed into place
    def stopped(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return call(*args, **kwargs)
    return stopped

if sys.argv[2] == "save":
    xgboost.Booster.save_model = stop_first(xgboost.Booster.save_model)
else:
    os.replace = stop_first(os.replace)
features = np.random.default_rng(0).normal(size=(200, 3)).astype("float32")
channel = algorithm.DenseChannel("train", features, features[:, 0] * 2, None)
hyperparameters = validate({"num_round": "5", "objective": "reg:squarederror"}, "image:1.7-1")
algorithm.train(hyperparameters, {"train": channel}, Path(sys.argv[1]), sys.stdout)
"""


@pytest.mark.parametrize("moment", ["save", "rename"])
def test_a_sigterm_while_the_model_is_saved_still_leaves_the_whole_model(tmp_path: Path, moment: str) -> None:
    """Once training has started, SIGTERM only asks it to end: the model is saved whole and renamed into place
    whenever it comes; /opt/ml/model never holds a cut or misnamed file (what a stopped trial uploads)."""
    import xgboost

    model_dir = tmp_path / "model"
    result = subprocess.run([sys.executable, "-c", STOPPED_WHILE_SAVING, str(model_dir), moment],
                            capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(path.name for path in model_dir.iterdir()) == ["xgboost-model"]
    booster = xgboost.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    assert booster.num_boosted_rounds() == 5
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".xgboost-model")]


# -- the pre-imported job server ---------------------------------------------------------------------------


def blocked_job(work: Path) -> list[str]:
    """An algorithm job that blocks reading its hyperparameters (a FIFO nobody writes): it runs until stopped."""
    from showcase.local import images

    (work / "input" / "config").mkdir(parents=True)
    os.mkfifo(work / "input" / "config" / "hyperparameters.json")
    return images.command("xgboost", str(work), "image:1.7-1")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the job server forks on Linux only")
def test_a_forked_builtin_job_is_stopped_like_any_other(tmp_path: Path) -> None:
    from showcase.local.processes import jobserver

    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    finished = subprocesses.run_logged(
        blocked_job(tmp_path), env=commands.clean_environment({}), cwd=tmp_path, log=io.StringIO(), stop=stop
    )
    assert jobserver.server() is not None
    assert finished.stopped and finished.returncode == -signal.SIGTERM


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the job server forks on Linux only")
def test_a_job_server_that_ends_before_it_answers_sends_the_job_to_a_fresh_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that cannot start (here: its program is not there) ends with the job's request unread: the job
    starts as a fresh interpreter instead of waiting for an answer that never comes."""
    from showcase.local.processes import jobserver

    monkeypatch.setattr(jobserver, "_server", None)
    monkeypatch.setattr(jobserver, "SERVER_MODULE", "showcase.local.processes.no_such_server")
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text('{"num_round": "1"}')
    (tmp_path / "input" / "config" / "inputdataconfig.json").write_text("{}")
    finished: list[subprocesses.Finished] = []
    command = images.command("xgboost", str(tmp_path), "image:1.7-1")
    run = threading.Thread(
        target=lambda: finished.append(
            subprocesses.run_logged(command, env=commands.clean_environment({}), cwd=tmp_path, log=io.StringIO())
        ),
        daemon=True,
    )
    run.start()
    run.join(timeout=120)
    assert not run.is_alive(), "the job waited for a job server that had ended"
    assert finished[0].returncode == 1
    assert (tmp_path / "output" / "failure").read_text().startswith("ClientError: the 'train' channel is required")


KILLED_RUNNER = """
import sys
from pathlib import Path
from tests.test_builtin_jobs import blocked_job
from showcase.local.processes.commands import clean_environment
from showcase.local.processes.subprocesses import run_logged
job = blocked_job(Path(sys.argv[1]))
with open(Path(sys.argv[1]) / "job.log", "w") as log:
    run_logged(job, env=clean_environment({}), cwd=Path(sys.argv[1]), log=log)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_runner_takes_the_job_server_and_its_jobs_with_it(tmp_path: Path) -> None:
    import psutil

    runner = subprocess.Popen([sys.executable, "-c", KILLED_RUNNER, str(tmp_path)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        tree: list[psutil.Process] = []
        while len(tree) < 2:  # the server, and the job it forked
            assert time.monotonic() < deadline, "the runner never started its job"
            tree = psutil.Process(runner.pid).children(recursive=True)
            time.sleep(0.05)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], "the job server or its job outlived the runner"
    finally:
        if runner.poll() is None:
            runner.kill()


def test_without_the_view_the_analyzer_reads_and_writes_host_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_quality_check import run_check

    monkeypatch.setenv("SHOWCASE_CONTAINER_VIEW", "off")
    rows = [f"{i % 7}.5,{i % 3},{i}" for i in range(50)]
    properties, log = run_check(tmp_path, rows)
    assert "no /opt/ml of its own (SHOWCASE_CONTAINER_VIEW=off)" in log
    assert (tmp_path / "work" / "processing" / "output" / "statistics.json").is_file()
    statistics = json.loads(ObjectStore(tmp_path / "store").get_bytes(properties["CalculatedBaselineStatistics"]))
    assert statistics["dataset"] == {"item_count": 50}
