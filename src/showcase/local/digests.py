"""SHA-256 of files, re-read only when the file may have changed.

A digest is remembered with the file's identity and stamps: device, inode, size, modification time and
change time (nanoseconds). While all five match, the remembered digest is used and no byte is read; when
any differs, the file is hashed again. The change time is what makes this honest: a program can set a
file's modification time back (``touch -d``, ``os.utime``) after changing its bytes, but the kernel sets
the change time to now on every write and on every ``utime``, and no unprivileged call sets it back.

A digest is trusted only for a file whose stamps are older than the moment it was read by at least
``RACY_SECONDS`` (git's "racily clean" rule): a file written in the same clock tick as it was hashed
could be written again within that tick without any stamp moving, so such a file is hashed again next
time. Replacing a file (as the object store does on every write) gives it a new inode, which also
rehashes it.

The memo is one JSON file under the local runtime's home; losing it (or a lost update when two runs
save at once) costs a re-read, never a wrong digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from showcase.files import write_json_atomically

CHUNK = 1 << 20
RACY_SECONDS = 1.0


def _stamp(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class FileDigests:
    """sha256 hex digests of files by path, remembered in ``memo_path`` (or only in memory when None)."""

    def __init__(self, memo_path: Path | None = None) -> None:
        self.memo_path = memo_path
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._dirty = False
        self.bytes_read = 0
        """Bytes hashed by this object since it was made (what a cache check cost)."""

    def sha256(self, path: str | os.PathLike[str]) -> str:
        name = os.path.abspath(path)
        info = os.stat(name)
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and entry["stamp"] == _stamp(info) and not self._racy(info, entry["read_at_ns"]):
                return str(entry["sha256"])
        read_at = time.time_ns()
        digest = hashlib.sha256()
        with open(name, "rb") as file:
            after = os.fstat(file.fileno())
            for chunk in iter(lambda: file.read(CHUNK), b""):
                digest.update(chunk)
                self.bytes_read += len(chunk)
        value = digest.hexdigest()
        if _stamp(after) == _stamp(os.stat(name)):  # not rewritten while being read
            with self._lock:
                self._entries[name] = {"stamp": _stamp(after), "read_at_ns": read_at, "sha256": value}
                self._dirty = True
        return value

    @staticmethod
    def _racy(info: os.stat_result, read_at_ns: int) -> bool:
        newest = max(info.st_mtime_ns, info.st_ctime_ns)
        return newest >= read_at_ns - int(RACY_SECONDS * 1e9)

    def save(self) -> None:
        """Write the memo (atomically), dropping entries for files that are gone or changed."""
        if self.memo_path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            kept = {}
            for name, entry in self._entries.items():
                with contextlib.suppress(OSError):
                    if _stamp(os.stat(name)) == entry["stamp"]:
                        kept[name] = entry
            self._entries, self._dirty = kept, False
            snapshot = dict(kept)  # other threads may add entries while it is written
        self.memo_path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.memo_path, snapshot, indent=None)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.memo_path is None:
            return {}
        try:
            data = json.loads(self.memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no memo yet, or a damaged one: every file is read again
        if not isinstance(data, dict):
            return {}
        return {
            name: entry
            for name, entry in data.items()
            if isinstance(entry, dict)
            and isinstance(entry.get("stamp"), list)
            and isinstance(entry.get("read_at_ns"), int)
            and isinstance(entry.get("sha256"), str)
        }
