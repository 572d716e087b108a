"""The job guard: what every job process runs first (on Linux), before it becomes the job's own command.

``python -I -S guard.py RUNNER_PID VIEW COMMAND...`` (``commands.guarded`` builds it) asks the kernel to SIGKILL
the process when the runner dies (``PR_SET_PDEATHSIG``), then execs ``COMMAND`` in the same process: a runner
killed mid-step (SIGKILL, OOM) so leaves no orphaned job behind, still writing into its work directory.

Given a container view (``VIEW``, a JSON object, else ``null``), it first gives the job the container's
``/opt/ml`` (``enter_view``): a private mount namespace (with a user namespace when not root), ``/`` made private
so that nothing leaks to the host, and the job's directory bound at ``/opt/ml``. Where ``/opt/ml`` does not exist,
``/opt`` is overlaid (upper and work directories on a tmpfs at the view's ``scratch``) so that the host's ``/opt``
stays visible and ``/opt/ml`` can be made. A set-up that fails exits ``SETUP_FAILED`` with one line naming the
step that failed.

It runs as a file, not as ``-m``, with no site-packages and nothing of the project imported: it imports only
the standard library, and starts in the time of a bare interpreter. The pre-imported job server's forks
(``forker``) call ``die_with_parent`` and ``enter_view`` from here too.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from collections.abc import Mapping

PR_SET_PDEATHSIG = 1
"""prctl(2): the signal the process gets when the thread that created it ends."""
CLONE_NEWNS = 0x00020000
"""unshare(2): a mount namespace of its own."""
CLONE_NEWUSER = 0x10000000
"""unshare(2): a user namespace of its own, in which an unprivileged user may mount."""
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
"""mount(2) flags: a bind mount; applied to the whole subtree; propagation private."""
SETUP_FAILED = 125
"""The exit code when the container view could not be set up."""
ORPHANED = 137
"""The exit code when the runner was gone before the guard could tie the job to it."""


def die_with_parent(parent_pid: int) -> bool:
    """Have this process SIGKILLed when its parent dies; False when the parent is already not ``parent_pid``."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == parent_pid


def enter_view(view: Mapping[str, str]) -> None:
    """Make ``view["job_dir"]`` this process's ``/opt/ml``, in a mount namespace of its own; exit on failure."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]

    def check(result: int, what: str) -> None:
        if result != 0:
            error = os.strerror(ctypes.get_errno())
            sys.stderr.write(f"container view: {what} failed: {error}\n")
            sys.stderr.flush()
            os._exit(SETUP_FAILED)

    uid, gid = os.getuid(), os.getgid()
    check(libc.unshare(CLONE_NEWNS | (0 if uid == 0 else CLONE_NEWUSER)), "unshare")
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
    job_dir = os.open(view["job_dir"], os.O_RDONLY | os.O_DIRECTORY)  # the host's, even under /opt
    if not os.path.isdir("/opt/ml"):
        scratch = view["scratch"]
        check(libc.mount(b"tmpfs", scratch.encode(), b"tmpfs", 0, b"mode=0755"), "tmpfs")
        os.mkdir(scratch + "/upper")
        os.mkdir(scratch + "/work")
        options = f"lowerdir=/opt,upperdir={scratch}/upper,workdir={scratch}/work".encode()
        check(libc.mount(b"overlay", b"/opt", b"overlay", 0, options), "overlay on /opt")
        os.mkdir("/opt/ml")
    check(libc.mount(f"/proc/self/fd/{job_dir}".encode(), b"/opt/ml", None, MS_BIND | MS_REC, None), "bind")
    os.close(job_dir)


def main(argv: list[str]) -> None:
    """``[RUNNER_PID, VIEW, COMMAND...]``: tie the process to the runner, enter the view, become the command."""
    if not die_with_parent(int(argv[0])):
        os._exit(ORPHANED)
    view = json.loads(argv[1])
    if view:
        enter_view(view)
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
