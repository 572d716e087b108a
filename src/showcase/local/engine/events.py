"""What an engine reports while it runs (``Event``) and how it is asked to stop (``StopRequest``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from showcase.statuses import ExecutionStatus, StepStatus


class EventKind(str, Enum):
    """What an Event reports (a ``str``: it compares equal to its value)."""

    EXECUTION_STARTED = "execution_started"
    STEP_STARTED = "step_started"
    STEP_STOPPING = "step_stopping"
    STEP_FINISHED = "step_finished"
    EXECUTION_STOPPING = "execution_stopping"
    EXECUTION_FINISHED = "execution_finished"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    execution_id: str
    status: ExecutionStatus | StepStatus
    step_name: str | None = None
    step_type: str | None = None
    message: str | None = None
    time: float = field(default_factory=time.time)


OnEvent = Callable[[Event], None]


class StopRequest:
    """StopPipelineExecution for the execution an engine runs. ``stop`` may be called from any thread and from a
    signal handler: it only sets attributes, which the engine reads every ``TICK_S``."""

    def __init__(self) -> None:
        self.requested = False
        self.hurried = False
        self.reason = ""

    def stop(self, reason: str = "stop requested", *, now: bool = False) -> None:
        """Stop the execution; ``now``: SIGKILL its jobs at once instead of after their grace."""
        if not self.requested:
            self.reason = reason
            self.requested = True
        if now:
            self.hurried = True
