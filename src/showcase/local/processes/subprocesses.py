"""Running a job's command: no shell, output streamed into the step log line by line, a tail of stderr kept.

A job is stopped as SageMaker's StopTrainingJob stops one: its process group gets SIGTERM, and SIGKILL when it
is still running ``STOP_GRACE_S`` later. That happens when its ``stop`` event is set (a tuning job's early
stopping, from the lines the job writes as it writes them; the execution being stopped) or when it outlives its
``timeout_s``; a ``JobStop`` that is hurried (a second Ctrl-C) cuts the grace short.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from showcase.local import images
from showcase.local.jobs import hurried
from showcase.local.processes import jobserver
from showcase.local.processes.commands import guarded

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
STOP_GRACE_S = 120.0
"""Between SIGTERM and SIGKILL when a job is stopped: SageMaker's 120 s, in which a job may save its model."""
_POLL_S = 0.05


@dataclass(frozen=True)
class Finished:
    returncode: int
    stderr_tail: list[str]
    timed_out: bool
    stopped: bool = False
    """Its ``stop`` event was set before it ended, and it was stopped."""


def run_logged(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: TextIO,
    timeout_s: float | None = None,
    view: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Finished:
    """Run ``command``; copy stdout and stderr line by line into ``log``; return the exit and stderr's tail.

    ``view``: see ``commands.guarded``. ``on_line`` sees each line as it is written (from a reader thread);
    setting ``stop`` stops the job (SIGTERM, then SIGKILL after ``STOP_GRACE_S``).
    """
    lock = threading.Lock()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    process = _start(command, env=env, cwd=cwd, view=view)
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, log, lock, None, on_line), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, log, lock, tail, on_line), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    timed_out = _watch(process, stop, None if timeout_s is None else time.monotonic() + float(timeout_s))
    for pump in pumps:
        pump.join()
    log.flush()
    # Asked to stop by a line it wrote, the job is Stopped even when it ended before the signal came: what stops
    # it is what it wrote, not how fast it wrote it.
    stopped = stop is not None and stop.is_set()
    returncode = process.wait()
    return Finished(returncode, list(tail), timed_out and not stopped, stopped)


def _start(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, view: Mapping[str, str] | None
) -> subprocess.Popen[str] | jobserver.Job:
    """The job's process: forked from the job server (a built-in image's), else started through the guard."""
    return _prewarmed(command, env=env, cwd=cwd, view=view) or subprocess.Popen(
        guarded(command, view),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: a stop or timeout ends the script and its children
    )


def _watch(
    process: subprocess.Popen[str] | jobserver.Job, stop: threading.Event | None, deadline: float | None
) -> bool:
    """Wait for the job to end, stopping it once ``stop`` is set or ``deadline`` (monotonic) passes; whether it
    ran out of time."""
    watched = stop is not None or deadline is not None
    while True:
        try:
            process.wait(timeout=_POLL_S if watched else None)
            return False
        except subprocess.TimeoutExpired:
            pass
        if stop is not None and stop.is_set():
            _terminate(process, stop)
            return False
        if deadline is not None and time.monotonic() >= deadline:
            _terminate(process, stop)
            return True


def _prewarmed(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, view: Mapping[str, str] | None
) -> jobserver.Job | None:
    """A built-in image's job, forked from the pre-imported job server where there is one (``jobserver``)."""
    argv = images.argv_of(command)
    server = jobserver.server() if argv is not None else None
    if argv is None or server is None:
        return None
    try:
        return server.start(argv, env=env, cwd=str(cwd), view=view)
    except OSError as exc:
        logger.warning("the pre-imported job server did not start a job (%s): starting a fresh interpreter", exc)
        return None


def _terminate(process: subprocess.Popen[str] | jobserver.Job, stop: threading.Event | None) -> None:
    """SIGTERM to the job's process group; SIGKILL if it is still there ``STOP_GRACE_S`` later, or as soon as
    ``stop`` is hurried."""
    deadline = time.monotonic() + STOP_GRACE_S
    try:
        if not hurried(stop):
            os.killpg(process.pid, signal.SIGTERM)
        while not hurried(stop) and time.monotonic() < deadline:
            try:
                process.wait(timeout=min(_POLL_S, max(deadline - time.monotonic(), 0.001)))
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever else it started, in its group
        os.killpg(process.pid, signal.SIGKILL)


def _pump(
    stream: IO[str],
    log: TextIO,
    lock: threading.Lock,
    tail: collections.deque[str] | None,
    on_line: Callable[[str], None] | None,
) -> None:
    with stream:
        for line in stream:
            with lock:
                log.write(line if line.endswith("\n") else line + "\n")
                if on_line is not None:
                    on_line(line.rstrip("\n"))
            if tail is not None and line.strip():
                tail.append(line.rstrip("\n"))
