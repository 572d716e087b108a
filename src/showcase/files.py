"""Reading a file a user named, and writing a file that must never be seen half-written."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from showcase.errors import FileWriteError, UsageError


def read_user_text(path: str | os.PathLike[str], what: str, *, missing_hint: str = "") -> str:
    """Read a text file the user named (``what`` says which, e.g. \"endpoint config\"), or raise a UsageError
    that names it and says why: missing (with ``missing_hint`` appended), unreadable, or not UTF-8.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UsageError(f"{what} {str(path)!r} does not exist{missing_hint}") from None
    except OSError as exc:
        raise UsageError(f"{what} {str(path)!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} {str(path)!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def write_json_atomically(path: str | os.PathLike[str], document: Any, *, indent: int | None = 2) -> None:
    """Write ``document`` as JSON to a temp file beside ``path``, then rename it into place: a reader sees the
    old file or the new one, never half of one. Values JSON cannot hold (datetimes) are written as ``str()``;
    ``indent=None`` writes it on one line with no spaces (a file only programs read). The file is readable by
    its owner alone (mode 0600, as ``tempfile`` makes it).

    Raises FileWriteError (naming the file and the reason) when the file cannot be written.
    """
    target = Path(path)
    temp: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            temp = Path(handle.name)
            separators = (",", ":") if indent is None else None
            json.dump(document, handle, indent=indent, separators=separators, default=str)
            handle.write("\n")
        os.replace(temp, target)
    except OSError as exc:
        raise FileWriteError(f"cannot write {str(target)!r}: {exc.strerror or exc}", path=str(target)) from exc
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)  # gone already once renamed; removed if anything failed
