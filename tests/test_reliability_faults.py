"""Faults: the pipeline runner killed mid-training, a store write and a registry transaction killed half-way,
and the registry held by another writer. Each leaves nothing half-done visible, and the work can be completed.

A killed endpoint worker, and a model XGBoost cannot load, are in ``test_serving_server.py`` (a worker killed and
replaced while requests keep being served; a refused model while the old one keeps serving); archives that
could escape are in ``test_security_archives.py``.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.registry import Registry
from showcase.store import ObjectStore
from showcase.store.uris import TEMP_PREFIX
from tests.reliability_support import (
    build_definition,
    clean_env,
    local_cli,
    prepare_home,
    read_record,
    start_args,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
GROUP = "crayonShowcasePackageGroup"


def wait_for(condition: object, what: str, *, attempts: int = 1200, interval: float = 0.05) -> None:
    for _ in range(attempts):  # bounded: ~60 s
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def packages(home: Path) -> list[dict[str, object]]:
    if not (home / "registry.sqlite").exists():
        return []
    return list(Registry(home / "registry.sqlite").list_model_packages(MaxResults=100)["ModelPackageSummaryList"])


def test_a_runner_killed_during_training_is_failed_leaves_nothing_half_done_and_retries(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, abalone_path: Path
) -> None:
    definition, uploads = build_definition(tmp_path_factory.getbasetemp() / "reliability-definition", abalone_path)
    home = prepare_home(tmp_path / "home", uploads)
    slow = start_args(definition, "NumRound=4000", "Eta=0.01", "MseThreshold=1000")
    runner = subprocess.Popen(
        local_cli(home, *slow), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env()
    )
    try:
        wait_for(lambda: (home / "executions").is_dir() and any((home / "executions").iterdir()), "the execution")
        (execution,) = (home / "executions").iterdir()
        train_log = execution / "steps" / "TrainModel.log"

        def training() -> bool:  # Executing, and some boosting rounds logged: the kill lands inside train()
            if not (execution / "execution.json").is_file():  # the folder is made before the record is first saved
                return False
            step = {s["name"]: s for s in read_record(home, execution.name)["steps"]}["TrainModel"]
            return step["status"] == "Executing" and train_log.is_file() and train_log.read_text().count("\n") > 100

        wait_for(training, "TrainModel to be training")
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=30)

    described = subprocess.run(
        local_cli(home, "describe", execution.name), capture_output=True, text=True, timeout=60, env=clean_env()
    )
    assert described.returncode == 0, described.stderr
    assert "Failed" in described.stdout and "interrupted" in described.stdout
    assert "Executing" not in described.stdout
    assert packages(home) == []  # the registry has no row, partial or whole

    store = ObjectStore(home / "store")
    listed = store.list("s3://showcase-local/")
    assert not [uri for uri in listed if "model.tar.gz" in uri]
    assert not [uri for uri in listed if TEMP_PREFIX in uri]
    for uri in listed:  # every visible object is whole: the prepared splits parse to the full row count
        if uri.endswith(".csv"):
            fields = 10 if "/baseline/" in uri else 11  # the baseline's features have no label
            assert all(line.count(",") == fields - 1 for line in store.get_bytes(uri).decode().splitlines()), uri

    retried = subprocess.run(
        local_cli(home, "retry", execution.name), capture_output=True, text=True, timeout=180, env=clean_env()
    )
    assert retried.returncode == 0, retried.stdout[-2000:] + retried.stderr[-2000:]
    record = read_record(home, execution.name)
    statuses = {step["name"]: step["status"] for step in record["steps"]}
    assert record["status"] == "Succeeded"
    assert statuses["PrepareData"] == "Succeeded" and statuses["TrainModel"] == "Succeeded"
    (package,) = packages(home)
    assert package["ModelPackageVersion"] == 1


KILLED_WRITE = """
import shutil, sys, time
from showcase.store import objects

def stalled(src, out, length):  # write the first MiB, then hang as a dying disk or a killed process would
    out.write(src.read(1 << 20)); out.flush()
    print("half-written", flush=True)
    time.sleep(120)

objects.shutil.copyfileobj = stalled
objects.ObjectStore(sys.argv[1]).put_file("s3://bucket/models/model.tar.gz", sys.argv[2])
"""


def test_a_store_write_killed_half_way_is_never_visible_under_its_key(tmp_path: Path) -> None:
    source = tmp_path / "model.tar.gz"
    source.write_bytes(os.urandom(4 << 20))
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITE, str(tmp_path / "store"), str(source)],
        stdout=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"half-written"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    store = ObjectStore(tmp_path / "store")
    on_disk = list((tmp_path / "store" / "bucket" / "models").iterdir())
    assert [path.name[: len(TEMP_PREFIX)] for path in on_disk] == [TEMP_PREFIX]  # the half-written temp file
    assert on_disk[0].stat().st_size == 1 << 20
    assert store.list("s3://bucket/") == []
    assert not store.exists("s3://bucket/models/model.tar.gz")
    store.put_file("s3://bucket/models/model.tar.gz", source)  # the next write of that key succeeds, whole
    assert store.get_bytes("s3://bucket/models/model.tar.gz") == source.read_bytes()
    assert store.list("s3://bucket/") == ["s3://bucket/models/model.tar.gz"]


KILLED_REGISTRATION = """
import contextlib, sys, time
from showcase.registry import Registry, database

original = database.Database.transaction

@contextlib.contextmanager
def paused(self):
    with original(self) as conn:
        yield conn
        print("inserted, not committed", flush=True)  # the group and the package rows are written
        time.sleep(120)

database.Database.transaction = paused
Registry(sys.argv[1]).create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="Approved")
"""


def test_a_registration_killed_before_commit_leaves_no_row(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    Registry(path)
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_REGISTRATION, str(path)], stdout=subprocess.PIPE, env=clean_env()
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"inserted, not committed"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    registry = Registry(path, busy_timeout_s=5)
    assert registry.list_model_packages()["ModelPackageSummaryList"] == []
    assert registry.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    arn = registry.create_model_package(ModelPackageGroupName="g")["ModelPackageArn"]
    assert arn.endswith("/g/1")


# -- the registry held by another writer ----------------------------------------------------------------------


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()  # until the test says so
conn.execute("ROLLBACK")
"""


def registry_cli(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "showcase", "registry", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


@pytest.fixture()
def held_registry(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    Registry(tmp_path / "registry.sqlite").create_model_package(ModelPackageGroupName=GROUP)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "registry.sqlite")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    yield tmp_path, holder
    if holder.poll() is None:
        holder.kill()
        holder.wait(timeout=30)


def test_a_writer_waits_for_the_lock_and_succeeds_when_it_is_released(
    held_registry: tuple[Path, subprocess.Popen[str]],
) -> None:
    home, holder = held_registry
    approve = registry_cli(home, "--busy-timeout", "30", "approve", f"{GROUP}/1")
    # The positive sign: the CLI says it found the lock held and is waiting (read with a bounded wait).
    assert approve.stderr is not None
    ready, _, _ = select.select([approve.stderr], [], [], 60)
    assert ready, "the CLI said nothing within 60 s"
    waiting = approve.stderr.readline()
    assert f"is locked by another writer (PID {holder.pid}); waiting up to 30 s" in waiting, waiting
    assert approve.poll() is None, approve.communicate()
    assert holder.stdin is not None
    holder.stdin.write("release\n")
    holder.stdin.flush()
    _, err = approve.communicate(timeout=60)
    assert approve.returncode == 0, err
    assert (
        Registry(home / "registry.sqlite").describe_model_package(ModelPackageName=f"{GROUP}/1")["ModelApprovalStatus"]
        == "Approved"
    )


def test_a_writer_gives_up_after_the_busy_timeout_naming_the_other_process(
    held_registry: tuple[Path, subprocess.Popen[str]],
) -> None:
    home, holder = held_registry
    approve = registry_cli(home, "--busy-timeout", "0.5", "approve", f"{GROUP}/1")
    _, err = approve.communicate(timeout=60)
    assert approve.returncode == 1
    assert "Traceback" not in err
    notice, error = err.splitlines()  # when the wait begins, and when it ends
    assert notice.endswith(f"is locked by another writer (PID {holder.pid}); waiting up to 0.5 s")
    assert error.endswith(f"is locked by another writer (PID {holder.pid}); waited 0.5 s, try again")
    conn = sqlite3.connect(home / "registry.sqlite")
    assert conn.execute("SELECT approval_status FROM model_packages").fetchall() == [("PendingManualApproval",)]
    conn.close()
