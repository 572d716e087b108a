"""What the CLIs report about a pipeline execution, whichever backend ran it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepReport:
    """One step of an execution, as shown to the user."""

    name: str
    status: str
    started: float | None = None
    """Epoch seconds."""
    ended: float | None = None
    failure_reason: str = ""
    log_path: str = ""

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass(frozen=True)
class ExecutionReport:
    """How an execution ended."""

    execution_id: str
    status: str
    failure_reason: str = ""
    steps: tuple[StepReport, ...] = ()
