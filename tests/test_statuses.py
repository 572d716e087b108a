"""Status enums are SageMaker's own words: records and definitions hold the same strings as before."""

from __future__ import annotations

import json

import pytest

from showcase.local.records import ExecutionRecord, StepRecord
from showcase.statuses import DONE, TERMINAL, ApprovalStatus, ExecutionStatus, JobStatus, StepStatus


@pytest.mark.parametrize("status", [*ExecutionStatus, *StepStatus, *JobStatus, *ApprovalStatus])
def test_a_status_reads_as_its_word_everywhere(status: str) -> None:
    word = status.value  # type: ignore[attr-defined]
    assert status == word and hash(status) == hash(word)
    assert (str(status), f"{status}", f"{status:>3}", " ".join([status])) == (word, word, f"{word:>3}", word)
    assert json.dumps({"status": status}) == json.dumps({"status": word})
    assert word in {status} and status in {word}


def test_execution_ends_are_terminal_and_running_is_not() -> None:
    ends = {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED}
    assert ends <= TERMINAL
    assert ExecutionStatus.EXECUTING not in TERMINAL and ExecutionStatus.STOPPING not in TERMINAL
    assert {StepStatus.NOT_STARTED, StepStatus.STARTING, StepStatus.EXECUTING}.isdisjoint(TERMINAL)
    assert {"Succeeded", "Cached"} == DONE and DONE <= TERMINAL


def test_a_record_saves_plain_words_and_loads_them_typed() -> None:
    record = ExecutionRecord("abc123def456", "arn", "P", steps=[StepRecord("Train", "Training")])
    record.step("Train").skip()
    saved = json.loads(json.dumps(record.to_json()))
    assert (saved["status"], saved["steps"][0]["status"]) == ("Executing", "Skipped")
    loaded = ExecutionRecord.from_json(saved)
    assert loaded.status is ExecutionStatus.EXECUTING
    assert loaded.step("Train").status is StepStatus.SKIPPED


def test_a_record_with_an_unknown_status_is_refused() -> None:
    record = ExecutionRecord("abc123def456", "arn", "P").to_json()
    with pytest.raises(ValueError, match="Paused"):
        ExecutionRecord.from_json({**record, "status": "Paused"})
