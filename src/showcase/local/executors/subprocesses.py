"""Running a job's command: no shell, output streamed into the step log line by line, a tail of stderr kept.

A job is stopped as SageMaker's StopTrainingJob stops one: its process group gets SIGTERM, and SIGKILL when it
is still running ``STOP_GRACE_S`` later. That happens when its ``stop`` event is set (a tuning job's early
stopping, from the lines the job writes as it writes them; the execution being stopped) or when it outlives its
``timeout_s``; a ``JobStop`` that is hurried (a second Ctrl-C) cuts the grace short.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from showcase.local.executors import builtin_jobs, prewarmed
from showcase.local.jobs import hurried

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
STOP_GRACE_S = 120.0
"""Between SIGTERM and SIGKILL when a job is stopped: SageMaker's 120 s, in which a job may save its model."""
_POLL_S = 0.05
_SECRET_PREFIXES = ("AWS_",)

# On Linux a job is started through this guard: it asks the kernel to SIGKILL it when the runner dies
# (PR_SET_PDEATHSIG), then execs the job's own command in the same process. A runner killed mid-step
# (SIGKILL, OOM) so leaves no orphaned job behind, still writing into its work directory.
# Given a container view (a JSON object, else "null"), it first gives the job the container's /opt/ml:
# a private mount namespace (with a user namespace when not root), / made private so that nothing
# leaks to the host, and the job's directory bound at /opt/ml. Where /opt/ml does not exist, /opt is
# overlaid (upper and work directories on a tmpfs at ``scratch``) so that the host's /opt stays
# visible and /opt/ml can be made. A set-up that fails exits 125 with one line naming the step.
ENTER_VIEW = (
    "def enter_view(view):\n"
    "    import ctypes, os, sys\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    def check(result, what):\n"
    "        if result != 0:\n"
    "            error = os.strerror(ctypes.get_errno())\n"
    "            sys.stderr.write(f'container view: {what} failed: {error}\\n')\n"
    "            sys.stderr.flush()\n"
    "            os._exit(125)\n"
    "    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]\n"
    "    uid, gid = os.getuid(), os.getgid()\n"
    "    check(libc.unshare(0x00020000 | (0 if uid == 0 else 0x10000000)), 'unshare')\n"
    "    if uid != 0:\n"
    "        for name, text in (('setgroups', 'deny'), ('uid_map', f'0 {uid} 1'), ('gid_map', f'0 {gid} 1')):\n"
    "            with open(f'/proc/self/{name}', 'w') as handle:\n"
    "                handle.write(text)\n"
    "    check(libc.mount(b'none', b'/', None, 16384 | 262144, None), 'making / private')\n"
    "    job_dir = os.open(view['job_dir'], os.O_RDONLY | os.O_DIRECTORY)  # the host's, even under /opt\n"
    "    if not os.path.isdir('/opt/ml'):\n"
    "        scratch = view['scratch']\n"
    "        check(libc.mount(b'tmpfs', scratch.encode(), b'tmpfs', 0, b'mode=0755'), 'tmpfs')\n"
    "        os.mkdir(scratch + '/upper')\n"
    "        os.mkdir(scratch + '/work')\n"
    "        options = f'lowerdir=/opt,upperdir={scratch}/upper,workdir={scratch}/work'.encode()\n"
    "        check(libc.mount(b'overlay', b'/opt', b'overlay', 0, options), 'overlay on /opt')\n"
    "        os.mkdir('/opt/ml')\n"
    "    check(libc.mount(f'/proc/self/fd/{job_dir}'.encode(), b'/opt/ml', None, 4096 | 16384, None), 'bind')\n"
    "    os.close(job_dir)\n"
)
"""Source of ``enter_view(view)``: the container view set-up, run by the guard and by ``prewarmed``'s forks."""
_ORPHAN_GUARD = (
    "import ctypes, json, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(137)\n" + ENTER_VIEW + "view = json.loads(sys.argv[2])\n"
    "if view:\n"
    "    enter_view(view)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)
SETUP_FAILED = 125
"""The guard's exit code when the container view could not be set up."""


def guarded(command: Sequence[str], view: Mapping[str, str] | None = None) -> list[str]:
    """``command``, started so that it dies with this process where the platform allows (Linux).

    ``view`` (``{"job_dir": ..., "scratch": ...}``, Linux only; see ``container``) gives it its own /opt/ml.
    """
    if not sys.platform.startswith("linux"):
        if view is not None:
            raise OSError("the container view needs Linux mount namespaces")
        return list(command)
    return [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), json.dumps(view), *command]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stderr_tail: list[str]
    timed_out: bool
    stopped: bool = False
    """Its ``stop`` event was set before it ended, and it was stopped."""


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
    view: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Finished:
    """Run ``command``; copy stdout and stderr line by line into ``log``; return the exit and stderr's tail.

    ``view``: see ``guarded``. ``on_line`` sees each line as it is written (from a reader thread);
    setting ``stop`` stops the job (SIGTERM, then SIGKILL after ``STOP_GRACE_S``).
    """
    lock = threading.Lock()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    process = _prewarmed(command, env=env, cwd=cwd, view=view) or subprocess.Popen(
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
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, log, lock, None, on_line), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, log, lock, tail, on_line), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    timed_out = stopped = False
    deadline = None if timeout_s is None else time.monotonic() + float(timeout_s)
    watched = stop is not None or deadline is not None
    while True:
        try:
            process.wait(timeout=_POLL_S if watched else None)
            break
        except subprocess.TimeoutExpired:
            pass
        if stop is not None and stop.is_set():
            stopped = True
        elif deadline is not None and time.monotonic() >= deadline:
            timed_out = True
        else:
            continue
        _terminate(process, stop)
        break
    for pump in pumps:
        pump.join()
    log.flush()
    # Asked to stop by a line it wrote, the job is Stopped even when it ended before the signal came: what stops
    # it is what it wrote, not how fast it wrote it.
    stopped = stopped or (stop is not None and stop.is_set())
    returncode = process.wait()
    return Finished(returncode, list(tail), timed_out and not stopped, stopped)


def _prewarmed(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, view: Mapping[str, str] | None
) -> prewarmed.Job | None:
    """A built-in image's job, forked from the pre-imported job server where there is one (``prewarmed``)."""
    argv = builtin_jobs.argv_of(command)
    server = prewarmed.server() if argv is not None else None
    if argv is None or server is None:
        return None
    try:
        return server.start(argv, env=env, cwd=str(cwd), view=view)
    except OSError as exc:
        logger.warning("the pre-imported job server did not start a job (%s): starting a fresh interpreter", exc)
        return None


def _terminate(process: subprocess.Popen[str] | prewarmed.Job, stop: threading.Event | None) -> None:
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
