"""The runner's end of the job server: a pre-imported interpreter that forks the built-in images' job processes.

A built-in image's job (``showcase.local.images``) imports XGBoost, pandas and SciPy, most of a fresh interpreter's
start-up, which every trial of a tuning job would pay again. On Linux the runner starts one server the first time
a built-in job runs (``server``): an interpreter that has imported them and does nothing else (``forker``, run with
``python -m``). Each such job is then a fork of it, made as the job guard makes a job: its own session and process
group, SIGKILL when the server dies (it dies with the runner), the container view (``guard.enter_view``), the job's
environment and working directory, stdin ``/dev/null``, stdout and stderr the runner's pipes. The job's command line
is the one a fresh interpreter would run (``images.command``); the fork runs the same ``images.main.main``.

The server reports each job's pid, then its exit code (negative: the signal), on a socket of that job (``Job``).
Where it cannot run (not Linux, no pidfd, it failed to start or died) or with ``SHOWCASE_JOB_SERVER=off``, jobs
start as fresh interpreters.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO

from showcase import settings
from showcase.local import images
from showcase.local.processes.commands import clean_environment

logger = logging.getLogger(__name__)

CLOSE_GRACE_S = 5.0
SERVER_MODULE = "showcase.local.processes.forker"
"""The server's program, run with ``python -m``."""


class Job:
    """A forked job as the runner sees it: the parts of ``subprocess.Popen`` that ``run_logged`` uses."""

    def __init__(self, pid: int, reply: socket.socket, stdout: IO[str], stderr: IO[str]) -> None:
        self.pid = pid
        self.stdout: IO[str] | None = stdout
        self.stderr: IO[str] | None = stderr
        self.returncode: int | None = None
        self._reply = reply

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._reply.settimeout(timeout)
            try:
                data = self._reply.recv(64)
            except TimeoutError:
                raise subprocess.TimeoutExpired(f"job {self.pid}", timeout or 0.0) from None
            self.returncode = int(data) if data else -signal.SIGKILL  # no report: the server died, and the job too
            self._reply.close()
        return self.returncode


class Server:
    """The runner's end of one server."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, str(os.getpid()), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=clean_environment(images.environment()),  # what OpenMP reads is read when XGBoost loads
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, view: Mapping[str, str] | None) -> Job:
        """Fork a job running ``images.main.main(argv)``; OSError when the server is gone."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = json.dumps({"argv": list(argv), "env": dict(env), "cwd": cwd, "view": view}).encode()
        try:
            try:
                with self.lock:
                    socket.send_fds(self.control, [request], [out_write, err_write, theirs.fileno()])
            finally:  # only the server holds them now: if it ends before it answers, the reply says so
                os.close(out_write)
                os.close(err_write)
                theirs.close()
            data = reply.recv(64)
            if not data:
                raise OSError("the job server ended")
            pid = int(data)
        except (OSError, ValueError):
            for fd in (out_read, err_read):
                os.close(fd)
            reply.close()
            raise
        stdout = open(out_read, encoding="utf-8", errors="replace")  # noqa: SIM115 (the caller reads and closes it)
        stderr = open(err_read, encoding="utf-8", errors="replace")  # noqa: SIM115
        return Job(pid, reply, stdout, stderr)

    def close(self) -> None:
        """End the server: at once when it runs no job (and waited for, so that its jobs' resource use is
        accounted to this process), else after a few seconds, killing it and so its jobs (an interrupted run)."""
        self.control.close()
        try:
            self.process.wait(timeout=CLOSE_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_server: Server | None = None
_parked = threading.Event()


def server() -> Server | None:
    """This process's server, started on first use; None where jobs start as fresh interpreters."""
    global _server
    if settings.load().job_server == "off":
        return None
    if not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return None
    with _lock:
        if _server is not None and not _server.alive():
            logger.warning("the pre-imported job server ended (exit %s); starting another", _server.process.returncode)
            _server = None
        if _server is None:
            # Started from a thread that lives as long as this process: the server's PR_SET_PDEATHSIG fires when
            # the thread that started it ends, and a step's or a trial's thread ends long before the run does.
            started: list[Server | BaseException] = []
            ready = threading.Event()

            def start_and_park() -> None:
                try:
                    started.append(Server())
                except BaseException as exc:  # reported below, in the caller's thread
                    started.append(exc)
                ready.set()
                _parked.wait()

            threading.Thread(target=start_and_park, name="job-server", daemon=True).start()
            ready.wait()
            if isinstance(started[0], BaseException):
                logger.warning("no pre-imported job server (%s): built-in jobs start fresh interpreters", started[0])
                return None
            _server = started[0]
            atexit.register(_server.close)
        return _server
