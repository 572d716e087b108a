"""A local run's first screen and its progress: the definition in one line, a live table whose detail says what
each step is doing (a tuning step's trials), and log records printed above the table, never through it."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from showcase import local
from showcase.cli import common, output
from showcase.cli.progress import StepDetails, definition_summary, digest, progress
from showcase.settings import Settings
from showcase.store import ObjectStore
from tests.local_fakes import Harness, condition, definition, fail, processing, training
from tests.test_tuning_step import BUCKET, categorical, tuning

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_the_summary_counts_every_step_by_type_branches_too() -> None:
    steps = [
        processing("Prep"),
        training("Train", "s3://b/train"),
        condition("Gate", [], [processing("Register")], [fail("Stop", "no")]),
    ]
    summary = definition_summary(definition(steps))
    assert summary.startswith("5 steps (2 Processing, 1 Training, 1 Condition, 1 Fail), sha256 ")
    assert summary.endswith(digest(definition(steps))) and len(digest(definition(steps))) == 12


def test_the_digest_is_the_definitions_not_its_key_order() -> None:
    document = definition([processing("Prep")])
    reordered = json.loads(json.dumps(dict(reversed(list(document.items())))))
    assert digest(reordered) == digest(document)
    assert digest(definition([processing("Prep2")])) != digest(document)


# -- the live table on a terminal ------------------------------------------------------------------------------


@pytest.fixture()
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The CLI's stderr console as a 100-column terminal, writing into a buffer."""
    written = io.StringIO()
    monkeypatch.setattr(output, "_STDERR", Console(file=written, force_terminal=True, width=100, highlight=False))
    handlers, level = logging.getLogger().handlers[:], logging.getLogger().level
    common.configure_logging("WARNING")
    yield written
    logging.getLogger().handlers[:], logging.getLogger().level = handlers, level


def test_a_log_record_prints_above_the_live_table(tmp_path: Path, terminal: io.StringIO) -> None:
    """A record logged while a step runs goes through the table's console: the table is cleared, the record
    printed on a line of its own, the table drawn again below it."""
    harness = Harness(tmp_path)
    warned = threading.Event()

    def noisy(context: Any) -> dict[str, Any]:
        time.sleep(0.4)  # the table is drawn a few times a second: let it show the step running
        logging.getLogger("showcase.local.example").warning("disk nearly full in %s", context.step_name)
        warned.set()
        time.sleep(0.4)
        return {}

    harness.executors["Processing"].behaviours["Prep"] = noisy
    document = definition([processing("Prep")])
    with progress(harness.settings, document) as on_event:
        harness.engine.on_event = on_event
        harness.engine.start(document, pipeline_name="P", parameters={})
    assert warned.is_set()
    raw = terminal.getvalue()
    lines = [ANSI.sub("", line).strip() for line in re.split(r"[\r\n]", raw)]
    assert lines.count("WARNING showcase.local.example: disk nearly full in Prep") == 1
    record = raw.index("disk nearly full")
    before, after = raw[:record], raw[record:]
    assert "Executing" in ANSI.sub("", before) and "\x1b[2K" in before[before.rindex("STEP") :]  # drawn, then erased
    assert "STEP" in after  # and drawn again below the record
    assert lines[0].startswith("execution ") and "definition: 1 step (1 Processing), sha256 " in lines[0]


# -- a tuning step's detail, read while it runs ----------------------------------------------------------------


def test_a_tuning_steps_detail_counts_its_trials_while_they_run(tmp_path: Path) -> None:
    """The real Tuning executor runs three trials one at a time; the detail, read every few milliseconds from the
    files it writes, names a running trial and counts the ended ones up to 3/3."""
    settings = Settings(home=tmp_path, input_data=None, max_parallel_steps=1)
    store = ObjectStore(settings.store_root)
    rng = np.random.default_rng(1)
    for split, rows in (("train", 200), ("validation", 60)):
        features = rng.normal(size=(rows, 4))
        label = 3 * features[:, 0] + rng.normal(scale=0.3, size=rows)
        lines = [",".join(f"{v:.5f}" for v in (y, *x)) for y, x in zip(label, features, strict=True)]
        store.put_bytes(f"{BUCKET}/data/{split}/{split}.csv", ("\n".join(lines) + "\n").encode())
    arguments = tuning("Random", categorical(max_depth=["1", "2", "3"]), jobs=3, parallel=1)
    document = definition([{"Name": "Tune", "Type": "Tuning", "Arguments": arguments}])
    details = StepDetails(settings, document)
    started: list[str] = []
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if started:
                seen.append(details(started[0], "Tune", "Tuning", "Executing"))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        record = local.run_definition(
            document, pipeline_name="P", settings=settings,
            on_event=lambda event: started.append(event.execution_id) if not started else None,
        )  # fmt: skip
    finally:
        done.set()
        watcher.join()
    assert record.status == "Succeeded", record.failure_reason
    trials = [summary["TrainingJobName"] for summary in record.step("Tune").properties["TrainingJobSummaries"]]
    running = [text for text in seen if "; running " in text]
    assert running, seen[-5:]
    assert {text.rsplit(" ", 1)[1] for text in running} <= set(trials)
    assert all(re.fullmatch(r"trials [0-2]/3 done; running \S+", text) for text in running)
    tuning_job = record.step("Tune").properties["HyperParameterTuningJobName"]  # the name the executor gave it
    assert details(record.execution_id, "Tune", "Tuning", "Executing") == f"trials 3/3 done ({tuning_job})"
    assert details(record.execution_id, "Tune", "Tuning", "Succeeded") == ""
