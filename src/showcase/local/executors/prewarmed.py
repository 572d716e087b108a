"""A pre-imported interpreter that forks the built-in images' job processes: their start-up without the imports.

A built-in image's job (``builtin_jobs``) imports XGBoost, pandas and SciPy, most of a fresh interpreter's
start-up, which every trial of a tuning job would pay again. On Linux the runner starts one server the first time
a built-in job runs: an interpreter that has imported them and does nothing else. Each such job is then a fork of
it, made as the job guard makes a job (``subprocesses``): its own session and process group, SIGKILL when the
server dies (it dies with the runner), the container view (``subprocesses.ENTER_VIEW``), the job's environment
and working directory, stdin ``/dev/null``, stdout and stderr the runner's pipes. The job's command line is the
one a fresh interpreter would run (``builtin_jobs.command``); the fork runs the same ``builtin_jobs.main``.

The server is single-threaded: it waits on its control socket and on each job's pidfd, and reports each job's
pid, then its exit code (negative: the signal), on a socket of that job. Where it cannot run (not Linux, no
pidfd, it failed to start or died) or with ``SHOWCASE_JOB_SERVER=off``, jobs start as fresh interpreters.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from typing import IO, Any

logger = logging.getLogger(__name__)

_MAX_REQUEST = 1 << 20
CLOSE_GRACE_S = 5.0
_SERVE = "import sys\nfrom showcase.local.executors.prewarmed import serve\nserve(int(sys.argv[1]), int(sys.argv[2]))\n"


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
        from showcase.local.executors import builtin_jobs
        from showcase.local.executors.subprocesses import clean_environment

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(os.getpid()), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=clean_environment(builtin_jobs.environment()),  # what OpenMP reads is read when XGBoost loads
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, view: Mapping[str, str] | None) -> Job:
        """Fork a job running ``builtin_jobs.main(argv)``; OSError when the server is gone."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = json.dumps({"argv": list(argv), "env": dict(env), "cwd": cwd, "view": view}).encode()
        try:
            with self.lock:
                socket.send_fds(self.control, [request], [out_write, err_write, theirs.fileno()])
            data = reply.recv(64)
            if not data:
                raise OSError("the job server ended")
            pid = int(data)
        except (OSError, ValueError):
            for fd in (out_read, err_read):
                os.close(fd)
            reply.close()
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
            theirs.close()
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
    from showcase import settings

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


# -- the server ---------------------------------------------------------------------------------------


def serve(runner_pid: int, control_fd: int) -> None:
    """The server's loop (in its own interpreter): fork a job per request, report each job's exit."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != runner_pid:
        os._exit(137)
    from showcase.local.executors import builtin_jobs

    builtin_jobs.preload()
    control = socket.socket(fileno=control_fd)
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, reply socket)
    open_for_requests = True
    while open_for_requests or waiting:
        readable, _, _ = select.select(([control] if open_for_requests else []) + list(waiting), [], [])
        for item in readable:
            if item is control:
                message, fds, _, _ = socket.recv_fds(control, _MAX_REQUEST, 3)
                if not message:
                    open_for_requests = False
                    continue
                _fork(json.loads(message), fds, control, waiting)
            elif isinstance(item, int):
                pid, reply = waiting.pop(item)
                _, status = os.waitpid(pid, 0)
                os.close(item)
                with contextlib.suppress(OSError):
                    reply.send(str(os.waitstatus_to_exitcode(status)).encode())
                reply.close()


def _fork(request: dict[str, Any], fds: list[int], control: socket.socket, waiting: dict[int, Any]) -> None:
    out, err, reply_fd = fds
    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        control.detach()  # the child's objects must not close fds that will be reused for the job's files
        for _, reply in waiting.values():
            reply.detach()
        os._exit(_child(request, out, err, server_pid))
    os.close(out)
    os.close(err)
    reply = socket.socket(fileno=reply_fd)
    try:
        reply.send(str(pid).encode())
        waiting[os.pidfd_open(pid)] = (pid, reply)
    except OSError:  # the runner gave up on it: the job still runs to its end, unreported
        reply.close()
        os.waitpid(pid, 0)


def _child(request: dict[str, Any], out: int, err: int, server_pid: int) -> int:
    import ctypes

    code = 1
    try:
        os.setsid()  # its own process group, as start_new_session: a stop reaches whatever it starts
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
        os.closerange(3, 1 << 16)  # the server's sockets and pidfds, this job's reply socket, the other jobs' pipes
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, encoding="utf-8")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, encoding="utf-8")
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        if os.getppid() != server_pid:
            return 137
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if request["view"]:
            from showcase.local.executors.subprocesses import ENTER_VIEW

            namespace: dict[str, Any] = {}
            exec(ENTER_VIEW, namespace)  # our own constant source: the guard's
            namespace["enter_view"](request["view"])
        from showcase.local.executors import builtin_jobs

        code = builtin_jobs.main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code
