"""Is that process still there? One answer for the runtime's execution records and the endpoint's workers; and
a lock file that says so without a guess: held by one process for as long as it lives.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows, which the runtime does not support (os.killpg, mount namespaces)
    fcntl = None  # type: ignore[assignment]

LOCKS = fcntl is not None
"""Whether this platform has ``flock`` (Linux, macOS): ``ProcessLock`` and ``lock_holder`` need it."""
_PATIENCE_S = 0.5
"""How long ``ProcessLock.take`` tries again while a reader looks at the lock (readers hold it for microseconds)."""


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux); None where unreadable."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux); None where unknown."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None  # field 22 of proc(5): starttime


def pid_alive(pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` runs: it exists, is not a zombie, and — when ``started`` is given and the platform
    tells — is the same process that started then (a reused PID is another process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields is None:
        return True
    if fields[0] == "Z":  # exited; only its parent has not reaped it yet
        return False
    return started is None or len(fields) <= 19 or int(fields[19]) == started


class ProcessLock:
    """An exclusive ``flock`` on a file, held until ``release`` or until the process ends, however it ends (the
    kernel drops it with the last descriptor; job processes do not inherit it). The holder's PID is written in the
    file, for whoever finds it held. Another ``take`` of the same file fails, in this process too.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, path: Path) -> ProcessLock | int:
        """The lock for this process, or the PID of the process holding it (0 when it has not said yet)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + _PATIENCE_S
        while True:
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:  # a reader's shared lock, gone in microseconds; a runner's stays
                    time.sleep(0.01)
                    continue
                holder = _pid_in(fd)
                os.close(fd)
                return holder
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # the lock goes with it
            self._fd = None

    def __enter__(self) -> ProcessLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(path: Path) -> int | None:
    """Without waiting: the PID holding the lock at ``path`` (0 when it has not said yet), or None when it is free
    (or there is no such file). Where there is no ``flock``, None."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _pid_in(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _pid_in(fd: int) -> int:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0
