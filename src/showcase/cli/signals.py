"""Ctrl-C and SIGTERM while an execution runs here: they stop it as StopPipelineExecution does.

The first signal asks the engine to stop (its running jobs get SIGTERM, then SIGKILL after their grace; no further
step starts; the execution ends ``Stopped``); a second one kills the jobs at once. The handler only sets flags, which
the engine reads, so nothing is interrupted half-way and no ``KeyboardInterrupt`` traceback is ever printed. The
command then names the execution and how to go on, and exits 128 + the signal's number (130 for Ctrl-C).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from showcase.local import StopRequest


class SignalStop(StopRequest):
    """A StopRequest the first SIGINT or SIGTERM makes (``stop_on_signals``); a second one hurries it."""

    def __init__(self) -> None:
        super().__init__()
        self.signal_number: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C."""
        return 128 + (self.signal_number or signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[SignalStop]:
    """While the block runs, SIGINT (Ctrl-C) and SIGTERM stop the execution instead of raising KeyboardInterrupt
    or ending the process. Outside the main thread, which gets no signals, nothing is installed."""
    request = SignalStop()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def on_signal(number: int, frame: object) -> None:
        if request.signal_number is None:
            request.signal_number = number
        request.stop(signal.Signals(number).name, now=request.requested)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stopped_line(execution_id: str, stop: StopRequest | None) -> str:
    """What to say of an execution a signal stopped: its id, and how to go on."""
    reason = (stop.reason if stop is not None else None) or "stopped"
    return (
        f"execution {execution_id} Stopped ({reason}): its running steps were stopped and no further step started. "
        f"`showcase describe {execution_id}` shows its steps; `showcase retry {execution_id}` runs the steps that "
        "did not succeed"
    )
