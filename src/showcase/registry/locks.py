"""Who holds the local model registry's write lock, said in the error when a writer waited too long.

SQLite makes a writer wait up to the busy timeout for another writer; after that ``lock_reported`` says
"the registry <path> is locked by another writer", naming the holder's PID when the kernel's lock table
(``/proc/locks``, Linux) shows it: in WAL mode a writer holds a POSIX write lock on the ``-shm`` file
(SQLite's ``WAL_WRITE_LOCK``); in rollback mode, on the database file. Both are looked for. The CLIs and
the dashboard use it alike.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from showcase.errors import RegistryError

PROC_LOCKS = Path("/proc/locks")


@contextmanager
def lock_reported(path: Path, busy_timeout_s: float) -> Iterator[None]:
    """Turn SQLite's "database is locked" inside the block into a RegistryError that says who holds it."""
    try:
        yield
    except RegistryError as exc:
        cause = exc.__cause__
        if not (isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)):
            raise
        raise RegistryError(
            f"the registry {path} is {locked_by(path)}; waited {busy_timeout_s:g} s, try again"
        ) from exc


def locked_by(path: Path) -> str:
    """``locked by another writer``, with the holders' PIDs when they can be told."""
    holders = lock_holders(path)
    return "locked by another writer" + (f" (PID {', '.join(map(str, holders))})" if holders else "")


def lock_holders(path: Path) -> list[int]:
    """PIDs of other processes holding a write lock on the registry; empty when that cannot be told."""
    inodes = set()
    for candidate in (path, path.with_name(path.name + "-shm")):
        try:
            stat = candidate.stat()
        except OSError:
            continue
        inodes.add((os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino))
    try:
        table = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    holders = {pid for pid, lock in _write_locks(table) if lock in inodes and pid != os.getpid()}
    return sorted(holders)


def _write_locks(table: str) -> Iterator[tuple[int, tuple[int, int, int]]]:
    # "1: POSIX  ADVISORY  WRITE 4242 00:2f:1234 120 120"; a blocked waiter's line reads "1: -> POSIX ...".
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[1] == "->" or fields[3] != "WRITE":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            yield int(fields[4]), (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
