"""The job server, in its own interpreter: ``python -m showcase.local.processes.forker RUNNER_PID CONTROL_FD``.

It imports what the built-in images' jobs import (``images.main.preload``), then waits on its control socket and
on each job's pidfd, single-threaded. Each request on the control socket (the job's argv, environment, working
directory and container view, with its stdout, stderr and reply descriptors) is one fork that becomes the job as
the guard makes one; the job's pid, then its exit code, go back on its reply socket. The runner's end is
``jobserver``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import socket
import sys
import traceback
from typing import Any

from showcase.local.processes.guard import ORPHANED, die_with_parent, enter_view

MAX_REQUEST = 1 << 20


def serve(runner_pid: int, control_fd: int) -> None:
    """The server's loop: fork a job per request, report each job's exit; end once the runner closes its end."""
    if not die_with_parent(runner_pid):
        os._exit(ORPHANED)
    from showcase.local.images import main

    main.preload()
    control = socket.socket(fileno=control_fd)
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, reply socket)
    open_for_requests = True
    while open_for_requests or waiting:
        readable, _, _ = select.select(([control] if open_for_requests else []) + list(waiting), [], [])
        for item in readable:
            if item is control:
                message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 3)
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
    """In the fork: become the job (as the guard makes one), run it, return its exit code."""
    code = 1
    try:
        os.setsid()  # its own process group, as start_new_session: a stop reaches whatever it starts
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
        os.closerange(3, 1 << 16)  # the server's sockets and pidfds, this job's reply socket, the other jobs' pipes
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, encoding="utf-8")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, encoding="utf-8")
        if not die_with_parent(server_pid):
            return ORPHANED
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if request["view"]:
            enter_view(request["view"])
        from showcase.local.images import main

        code = main.main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
