"""What every surface shows of a step: one duration text, one metrics lookup, one status-style table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from showcase.reporting import STATUS_STYLES, StepReport, how_long, regression_metric, when
from showcase.statuses import ApprovalStatus, ExecutionStatus, StepStatus


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
    assert when(start, "iso") == "2026-01-02T03:04:05+00:00"


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
    deployments = {"Updating", "RollingBack", "RolledBack", "ALARM", "OK"}  # serving.rollout, serving.alarms
    words = {*ExecutionStatus, *StepStatus, *ApprovalStatus, "InService", *deployments}
    assert words == set(STATUS_STYLES)
    assert {style.tone for style in STATUS_STYLES.values()} == {"ok", "running", "bad", "idle", "pending"}
