"""What every surface shows of a step: one duration text, one metrics lookup, one status-style table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from showcase.reporting import STATUS_STYLES, StepReport, how_long, regression_metric, suggest, when
from showcase.statuses import (
    ApprovalStatus,
    EndpointStatus,
    ExecutionStatus,
    JobStatus,
    MonitoringStatus,
    StepStatus,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.04, "0.0 s"), (12.34, "12.3 s"), (59.94, "59.9 s"), (60, "1 min 00 s"), (3725.9, "62 min 05 s")],
)
def test_how_long(seconds: float | None, text: str) -> None:
    assert how_long(seconds) == text


def test_a_step_lasts_from_its_start_to_its_end() -> None:
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert StepReport("A", StepStatus.EXECUTING, start=start).duration is None
    assert StepReport("A", StepStatus.SUCCEEDED, start=start, end=start + timedelta(seconds=90)).duration == 90.0
    assert when(None) == when(None, "clock") == "-"


def test_every_form_of_a_time_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """One time format: local time in tables and progress lines, and in JSON with the local offset."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30 all year
    time.tzset()
    try:
        moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        assert when(moment) == "2026-01-02 08:34:05"
        assert when(moment, "clock") == "08:34:05"
        assert when(moment, "iso") == "2026-01-02T08:34:05+05:30"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(
    ("name", "choices", "said"),
    [
        ("MseTreshold", ["MseThreshold", "MaxDepth"], " (did you mean 'MseThreshold'?)"),
        ("tunes", ["tune", "region"], " (did you mean 'tune'?)"),
        ("msethreshold", ["MseThreshold"], " (did you mean 'MseThreshold'?)"),
        ("Bucket", ["MseThreshold", "MaxDepth"], ""),
    ],
)
def test_a_typo_gets_a_suggestion(name: str, choices: list[str], said: str) -> None:
    assert suggest(name, choices) == said


@pytest.mark.parametrize(
    ("document", "value"),
    [
        ({"regression_metrics": {"mse": {"value": 4.5, "standard_deviation": 0.1}}}, 4.5),
        ({"regression_metrics": {"mse": {"value": 3}}}, 3.0),
        ({"regression_metrics": {"mse": {"value": "4.5"}}}, None),
        ({"regression_metrics": {"mse": 4.5}}, None),
        ({"regression_metrics": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_regression_metric_reads_only_the_documented_shape(
    document: dict[str, object] | None, value: float | None
) -> None:
    assert regression_metric(document, "mse") == value


def test_every_status_word_has_a_style() -> None:
    words = {*ExecutionStatus, *StepStatus, *JobStatus, *ApprovalStatus, *MonitoringStatus, *EndpointStatus}
    deployments = {"RolledBack", "ALARM", "OK"}  # a deployment's outcome and its alarms' states
    assert words | deployments <= set(STATUS_STYLES)
    assert all(style.terminal for style in STATUS_STYLES.values())  # each coloured on a terminal
    assert {style.tone for style in STATUS_STYLES.values()} == {"ok", "running", "bad", "idle", "pending"}
