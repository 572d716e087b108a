"""Model archives (``model.tar.gz``): written reproducibly, extracted defensively.

``extract_model_archive`` refuses, before writing anything, any member that is absolute, has a ``..``
segment, is a link or is not a regular file or directory; what passes is still extracted with
``tarfile``'s ``filter="data"``. ``write_model_archive`` fixes owner, mode and timestamps so the same files
always give the same bytes (and so the same cache keys).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Literal

from showcase.errors import ShowcaseError


class ArchiveError(ShowcaseError):
    """A model archive cannot be read, or holds a member that could write outside its destination."""


def write_model_archive(
    files: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]],
    tar_path: str | os.PathLike[str],
) -> Path:
    """Write ``files`` (``{name in archive: local path}``, or paths kept by base name) to a gzipped tar."""
    members = (
        {name: Path(path) for name, path in files.items()}
        if isinstance(files, Mapping)
        else {Path(path).name: Path(path) for path in files}
    )
    target = Path(tar_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in sorted(members):
                _check_member_name(name, target)
                data = members[name].read_bytes()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    return target


# What a model archive may expand to. A gzip of zeros shrinks about 1000x, so a small archive could
# otherwise fill the disk; XGBoost models of this kind are kilobytes to a few hundred megabytes.
MAX_EXTRACTED_BYTES = 4 * 1024**3


def extract_model_archive(
    tar_path: str | os.PathLike[str], dest: str | os.PathLike[str], *, max_bytes: int = MAX_EXTRACTED_BYTES
) -> list[Path]:
    """Extract a (gzipped) tar into ``dest``; return the regular files written. Raises ``ArchiveError``.

    Every member is checked before anything is written, including the total size the archive declares
    (at most ``max_bytes``); tar stores each member's size in its header and holds the member to it.
    """
    source, target = Path(tar_path), Path(dest)
    compression = _compression(source)
    try:
        with tarfile.open(source, mode=_READ_MODES[compression]) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, source)
            declared = sum(member.size for member in members if member.isfile())
            if declared > max_bytes:
                raise ArchiveError(
                    f"refusing {source}: it expands to {declared:,} bytes, more than the {max_bytes:,} a model "
                    "archive may hold"
                )
            target.mkdir(parents=True, exist_ok=True)
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ArchiveError(f"model archive {source} {_fault(compression, exc)}") from exc
    return [target / member.name for member in members if member.isfile()]


def extract_zip_archive(
    data: bytes, dest: str | os.PathLike[str], *, max_bytes: int = MAX_EXTRACTED_BYTES
) -> list[Path]:
    """Extract a zip (a Lambda function's deployment package) into ``dest``; return the files written.

    Checked as a model archive is, before anything is written: no absolute member, none with ``..``, no symbolic
    link (a zip member whose Unix mode says so), at most ``max_bytes`` in all. Raises ``ArchiveError``.
    """
    target = Path(dest)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            for member in members:
                _check_member_name(member.filename, Path("the zip file"))
                if stat.S_ISLNK(member.external_attr >> 16):
                    raise ArchiveError(f"refusing the zip file: member {member.filename!r} is a symbolic link")
            if sum(member.file_size for member in members) > max_bytes:
                raise ArchiveError(f"refusing the zip file: it expands to more than {max_bytes:,} bytes")
            target.mkdir(parents=True, exist_ok=True)
            for member in members:
                archive.extract(member, target)
    except (zipfile.BadZipFile, OSError, zlib.error) as exc:
        raise ArchiveError(f"the zip file cannot be extracted: {exc}") from exc
    return [target / member.filename for member in members if not member.is_dir()]


# The first bytes of each compression tarfile reads; anything else is read as a plain tar.
_MAGIC = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
_NAMES = {"gz": "gzip", "bz2": "bzip2", "xz": "xz"}
_READ_MODES: dict[str, Literal["r:", "r:gz", "r:bz2", "r:xz"]] = {"": "r:", "gz": "r:gz", "bz2": "r:bz2", "xz": "r:xz"}


def _compression(source: Path) -> str:
    """The compression the archive's first bytes name ("" for none), so a failure has one reason, not one per
    method tarfile would otherwise try; an empty or unreadable file is refused here."""
    try:
        with source.open("rb") as handle:
            head = handle.read(6)
    except OSError as exc:
        raise ArchiveError(f"model archive {source} cannot be read: {exc.strerror or exc}") from exc
    if not head:
        raise ArchiveError(f"model archive {source} is empty")
    return next((name for magic, name in _MAGIC.items() if head.startswith(magic)), "")


def _fault(compression: str, exc: BaseException) -> str:
    """What is wrong with an archive tarfile could not read, for ``model archive <path> ...``."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, EOFError):
        return f"is corrupt: its {_NAMES.get(compression, 'tar')} stream ends early, truncated? ({detail})"
    if compression:
        return f"is not a valid {_NAMES[compression]}-compressed tar archive ({detail})"
    return f"is not a tar archive, gzip-compressed or plain ({detail})"


def _check_member(member: tarfile.TarInfo, source: Path) -> None:
    _check_member_name(member.name, source)
    if member.issym() or member.islnk():
        raise ArchiveError(f"refusing {source}: member {member.name!r} is a link (to {member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        raise ArchiveError(f"refusing {source}: member {member.name!r} is a device, FIFO or other special file")


def _check_member_name(name: str, source: Path) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or name.startswith("/"):
        raise ArchiveError(f"refusing {source}: member {name!r} has an absolute path")
    if ".." in path.parts or "\\" in name or "\x00" in name:
        raise ArchiveError(f"refusing {source}: member {name!r} could escape the destination ('..' or '\\\\')")
