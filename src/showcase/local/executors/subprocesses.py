"""Running a job's command: no shell, output streamed into the step log, a tail of stderr kept."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

STDERR_TAIL_LINES = 20
_SECRET_PREFIXES = ("AWS_",)

# On Linux a job is started through this guard: it asks the kernel to SIGKILL it when the runner dies
# (PR_SET_PDEATHSIG), then execs the job's own command in the same process. A runner killed mid-step
# (SIGKILL, OOM) so leaves no orphaned job behind, still writing into its work directory.
_ORPHAN_GUARD = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(137)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def guarded(command: Sequence[str]) -> list[str]:
    """``command``, started so that it dies with this process where the platform allows (Linux)."""
    if not sys.platform.startswith("linux"):
        return list(command)
    return [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), *command]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stderr_tail: list[str]
    timed_out: bool


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The host environment minus AWS settings and credentials (a local job must not reach AWS), plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_SECRET_PREFIXES)}
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_logged(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: TextIO,
    timeout_s: float | None = None,
) -> Finished:
    """Run ``command``; copy stdout and stderr line by line into ``log``; return the exit and stderr's tail."""
    lock = threading.Lock()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    process = subprocess.Popen(
        guarded(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: a timeout stops the script and its children
    )
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, log, lock, None), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, log, lock, tail), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    timed_out = False
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pump in pumps:
        pump.join()
    log.flush()
    return Finished(process.returncode, list(tail), timed_out)


def _pump(stream: IO[str], log: TextIO, lock: threading.Lock, tail: collections.deque[str] | None) -> None:
    with stream:
        for line in stream:
            with lock:
                log.write(line if line.endswith("\n") else line + "\n")
            if tail is not None and line.strip():
                tail.append(line.rstrip("\n"))
