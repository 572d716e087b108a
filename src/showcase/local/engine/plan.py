"""Which steps an execution may look at next, and what it does with each (``Readiness``).

``Plan`` hands out the steps whose dependencies have all ended, in definition order; a step's end is told once
and makes only its dependents ready, so nothing rescans the definition. ``DoneProperties`` is what an expression
sees of the other steps: the properties of those that succeeded (or were cached).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from showcase.local.definition import Definition
from showcase.local.record import ExecutionRecord, StepRecord
from showcase.statuses import DONE, TERMINAL, StepStatus


class Readiness(Enum):
    """What the engine does next with a step whose dependencies have all ended."""

    SKIP = "skip"
    """A dependency was skipped, or the step is on the branch its Condition did not take."""
    RUN = "run"
    BLOCKED = "blocked"
    """A step of the execution failed, or it is being stopped: no further step starts, this one stays NotStarted."""


def stopping(step: StepRecord) -> None:
    """A running step of an execution being stopped: Stopping, until its job ends."""
    step.status = StepStatus.STOPPING


class Plan:
    """Which steps may be looked at next: those whose dependencies have all ended, in definition order. A step's
    end is told once (``ended``) and makes only its dependents ready; nothing rescans the definition."""

    def __init__(self, parsed: Definition, record: ExecutionRecord) -> None:
        self.position = {name: index for index, name in enumerate(parsed.steps)}
        self.dependents: dict[str, list[str]] = {name: [] for name in parsed.steps}
        self.waiting: dict[str, int] = {}
        self._ready: list[tuple[int, str]] = []
        for name, spec in parsed.steps.items():
            for dep in spec.dependencies:
                self.dependents[dep].append(name)
            if record.step(name).status in TERMINAL:
                continue  # a retry keeps what ended (succeeded, cached, skipped)
            self.waiting[name] = sum(record.step(dep).status not in TERMINAL for dep in spec.dependencies)
            if self.waiting[name] == 0:
                heapq.heappush(self._ready, (self.position[name], name))

    def ready(self) -> Iterator[str]:
        """The ready steps, taken one by one (those made ready meanwhile included)."""
        while self._ready:
            yield heapq.heappop(self._ready)[1]

    def ended(self, name: str) -> None:
        for dependent in self.dependents[name]:
            if dependent in self.waiting:
                self.waiting[dependent] -= 1
                if self.waiting[dependent] == 0:
                    heapq.heappush(self._ready, (self.position[dependent], dependent))


class DoneProperties(Mapping[str, Any]):
    """The properties of the execution's succeeded (or cached) steps, read when an expression names one."""

    def __init__(self, record: ExecutionRecord, lock: threading.RLock) -> None:
        self.record = record
        self.lock = lock

    def __getitem__(self, name: str) -> Any:
        with self.lock:
            step = self.record.step(name)
            if step.status not in DONE:
                raise KeyError(name)
            return step.properties

    def __iter__(self) -> Iterator[str]:
        with self.lock:
            return iter([step.name for step in self.record.steps if step.status in DONE])

    def __len__(self) -> int:
        return sum(1 for _ in self)
