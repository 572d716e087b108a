"""Is that process still there? One answer for the runtime's execution records and the endpoint's workers."""

from __future__ import annotations

import os
from pathlib import Path


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
