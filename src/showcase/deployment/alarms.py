"""CloudWatch metric alarms kept in the local home: what a stack's ``AWS::CloudWatch::Alarm`` creates.

The alarms are PutMetricAlarm's requests, kept whole in one file, ``<home>/cloudwatch/alarms.json``, as
``{AlarmName: alarm}`` (an alarm name may hold any character, so it never becomes a path). Each alarm carries
its request's fields (``Namespace``, ``MetricName``, ``Dimensions``, ``Statistic`` or ``ExtendedStatistic``,
``Period``, ``EvaluationPeriods``, ``Threshold``, ``ComparisonOperator``, ``TreatMissingData``, or ``Metrics``
for metric math) and DescribeAlarms' state: ``StateValue`` (``INSUFFICIENT_DATA`` until something evaluates
it, then ``OK`` or ``ALARM``), ``StateReason``, ``StateUpdatedTimestamp``.

This is the contract with whatever evaluates alarms locally against an endpoint's metrics (namespace
``AWS/SageMaker``, dimensions ``EndpointName`` and ``VariantName``; ``Invocation5XXErrors`` 1 per 5xx answer
else 0; ``ModelLatency`` in microseconds): it reads ``alarms(home)`` and records what it found with
``set_state``. Every change is one atomic rewrite of the file, under a lock (``flock`` on ``alarms.lock``) that
also holds between processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.errors import UsageError
from showcase.files import write_json_atomically

try:
    import fcntl
except ImportError:  # not on Windows, which the runtime does not support
    fcntl = None  # type: ignore[assignment]

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
INITIAL_STATE = "INSUFFICIENT_DATA"
_LOCK = threading.Lock()


def alarms_file(home: Path) -> Path:
    return home / "cloudwatch" / "alarms.json"


def alarms(home: Path) -> dict[str, dict[str, Any]]:
    """Every alarm, by name (an empty mapping when none was ever put)."""
    try:
        document: dict[str, dict[str, Any]] = json.loads(alarms_file(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return document


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """This process's threads, then other processes, one at a time."""
    path = alarms_file(home).with_name("alarms.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _now() -> str:
    return timestamp()


def put_alarm(home: Path, request: Mapping[str, Any]) -> dict[str, Any]:
    """Create or replace an alarm (PutMetricAlarm); a replaced alarm keeps its state, as CloudWatch's does."""
    name = request["AlarmName"]
    with _locked(home):
        every = alarms(home)
        previous = every.get(name) or {}
        now = _now()
        state = {
            "StateValue": previous.get("StateValue", INITIAL_STATE),
            "StateReason": previous.get("StateReason", "Unchecked: Initial alarm creation"),
            "StateUpdatedTimestamp": previous.get("StateUpdatedTimestamp", now),
        }
        alarm = {**dict(request), **state, "AlarmConfigurationUpdatedTimestamp": now}
        every[name] = alarm
        _write(home, every)
    return alarm


def delete_alarms(home: Path, names: list[str]) -> None:
    """DeleteAlarms: the named alarms that exist are deleted; others are ignored, as CloudWatch ignores them."""
    with _locked(home):
        every = alarms(home)
        kept = {name: alarm for name, alarm in every.items() if name not in names}
        if len(kept) != len(every):
            _write(home, kept)


def set_state(home: Path, name: str, value: str, reason: str) -> None:
    """SetAlarmState: what an evaluation found, with a reason a person can read."""
    if value not in STATES:
        raise UsageError(f"alarm state {value!r} is not one of {', '.join(STATES)}")
    with _locked(home):
        every = alarms(home)
        if name not in every:
            raise UsageError(f"there is no alarm named {name!r}")
        every[name].update(StateValue=value, StateReason=reason, StateUpdatedTimestamp=_now())
        _write(home, every)


def _write(home: Path, every: dict[str, dict[str, Any]]) -> None:
    write_json_atomically(alarms_file(home), every)
