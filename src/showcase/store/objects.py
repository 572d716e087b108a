"""The object store: an S3 stand-in on the local file system.

An object ``s3://bucket/a/b.csv`` is the file ``root/bucket/a/b.csv``. Every write goes to a temporary file
in the object's own directory and is renamed into place (``os.replace``), so a reader sees either the old
object, the new one or none — never half of one — and writers of different keys never touch the same file.
Unlike S3, a key cannot be both an object and a "directory" of other objects (``a`` and ``a/b``).
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from showcase.store.errors import InvalidUri, NoSuchKey, StoreError
from showcase.store.uris import TEMP_PREFIX, join_uri, split_uri

_CHUNK = 1024 * 1024


class ObjectStore:
    """Objects under ``root/<bucket>/<key>``, addressed by ``s3://`` URIs."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    # -- addressing ---------------------------------------------------------------------------------

    def path_of(self, uri: str) -> Path:
        """The file that holds (or would hold) the object at ``uri``."""
        bucket, key = split_uri(uri)
        path = self.root.joinpath(bucket, *key.split("/"))
        if not path.resolve().is_relative_to(self.root):  # e.g. a symlink planted inside the root
            raise InvalidUri(f"{uri!r} resolves outside the store root {self.root}")
        return path

    # -- writes -------------------------------------------------------------------------------------

    def put_bytes(self, uri: str, data: bytes) -> str:
        self._write(uri, lambda out: out.write(data))
        return uri

    def put_file(
        self, uri: str, path: str | os.PathLike[str], *, within: Path | None = None, shown_as: str = ""
    ) -> str:
        """Upload the file at ``path``. ``within``: a job's directory, which ``path`` may not lead out of through a
        symbolic link (see ``job_files``; ``shown_as`` names the directory in messages, e.g. ``/opt/ml``)."""
        source = Path(path)
        if within is not None:
            source = _inside(source, within.resolve(), within, shown_as)
        if not source.is_file():
            raise StoreError(f"cannot upload {source} to {uri}: not a file")
        with source.open("rb") as src:
            self._write(uri, lambda out: shutil.copyfileobj(src, out, _CHUNK))
        return uri

    def upload_dir(
        self,
        local_dir: str | os.PathLike[str],
        prefix_uri: str,
        *,
        within: Path | None = None,
        shown_as: str = "",
    ) -> builtins.list[str]:
        """Upload each regular file under ``local_dir`` to ``prefix_uri/<relative path>``; return the URIs.

        ``within``: ``local_dir`` is a job's output in the job's directory ``within``, uploaded as ``job_files``
        finds it (links that stay inside followed, one that leads out refused). Without it, a directory the user
        named: links below it are skipped.
        """
        base = Path(local_dir)
        bucket, key = split_uri(prefix_uri, prefix=True)
        key = key.rstrip("/")
        if within is not None:
            if not base.is_dir() and not base.is_symlink():
                raise StoreError(f"cannot upload {base} to {prefix_uri}: not a directory")
            files = job_files(base, within, shown_as)
        elif base.is_dir():
            files = {file.relative_to(base).as_posix(): file for file in _regular_files(base)}
        else:
            raise StoreError(f"cannot upload {base} to {prefix_uri}: not a directory")
        return [
            self.put_file(join_uri(bucket, f"{key}/{relative}" if key else relative), files[relative])
            for relative in sorted(files)
        ]

    def delete(self, uri: str) -> bool:
        """Remove the object at ``uri`` (True if there was one), and the directories its removal left empty
        below its bucket, so that its key's parents may become objects again."""
        path = self.path_of(uri)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        bucket_dir = self.root / split_uri(uri)[0]
        for parent in path.parents:
            if parent == bucket_dir or not parent.is_relative_to(bucket_dir):
                break
            try:
                parent.rmdir()
            except OSError:  # not empty (or just written to): it stays
                break
        return True

    # -- reads --------------------------------------------------------------------------------------

    def exists(self, uri: str) -> bool:
        return self.path_of(uri).is_file()

    def get_bytes(self, uri: str) -> bytes:
        path = self.path_of(uri)
        if not path.is_file():
            raise NoSuchKey(uri)
        return path.read_bytes()

    def list(self, prefix_uri: str) -> list[str]:
        """Sorted URIs of the objects whose key starts with the prefix (as S3's ListObjectsV2 ``Prefix``)."""
        bucket, prefix = split_uri(prefix_uri, prefix=True)
        bucket_dir = self.root / bucket
        directory = prefix if prefix.endswith("/") or not prefix else prefix.rpartition("/")[0]
        start = bucket_dir.joinpath(*[part for part in directory.split("/") if part])
        keys = [file.relative_to(bucket_dir).as_posix() for file in _regular_files(start)]
        return [join_uri(bucket, key) for key in sorted(keys) if key.startswith(prefix)]

    def download(self, uri: str, dest_dir: str | os.PathLike[str]) -> builtins.list[Path]:
        """Copy ``uri`` into ``dest_dir`` as SageMaker stages an ``S3Prefix`` input; return the files written.

        A URI that is exactly one object's key gives that file under its base name; otherwise the URI is a
        "directory" and every object under ``<uri>/`` lands at its path relative to it.
        """
        bucket, key = split_uri(uri, prefix=True)
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        if key and not key.endswith("/") and self.exists(uri):
            target = dest / key.rpartition("/")[2]
            shutil.copyfile(self.path_of(uri), target)
            return [target]
        prefix = key.rstrip("/") + "/" if key else ""
        objects = self.list(join_uri(bucket, prefix))
        if not objects:
            raise NoSuchKey(uri, " and no objects under it")
        written = []
        for object_uri in objects:
            relative = split_uri(object_uri)[1][len(prefix) :]
            target = dest.joinpath(*relative.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path_of(object_uri), target)
            written.append(target)
        return written

    def sweep_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Delete temporary files a killed writer left behind, once older than any write could be; return how many.

        They were never visible as objects (listings skip them); this only gives their space back.
        """
        cutoff = time.time() - older_than_s
        removed = 0
        for current, _dirs, files in os.walk(self.root) if self.root.is_dir() else ():
            for name in files:
                path = Path(current, name)
                if name.startswith(TEMP_PREFIX) and path.lstat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    # -- internals ----------------------------------------------------------------------------------

    def _write(self, uri: str, fill: Callable[[BinaryIO], object]) -> None:
        with self.writer(uri) as out:
            fill(out)

    @contextmanager
    def writer(self, uri: str) -> Iterator[BinaryIO]:
        """A file to write the object at ``uri`` into, piece by piece (a body as it arrives): when the block ends
        without an error it is synced and renamed into place; otherwise it is removed and no object changes."""
        path = self.path_of(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StoreError(
                f"cannot write {uri}: a parent of its key is already an object in the local store "
                "(S3 allows 'a' and 'a/b' side by side; this store does not)"
            ) from exc
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, path)
        except IsADirectoryError as exc:
            raise StoreError(
                f"cannot write {uri}: objects already exist under {uri}/ in the local store "
                "(S3 allows 'a' and 'a/b' side by side; this store does not)"
            ) from exc
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)


def job_files(directory: Path, within: Path, shown_as: str = "") -> dict[str, Path]:
    """The regular files under ``directory``, a folder of a job's directory ``within``, by their path relative to
    ``directory``: what SageMaker uploads from a container's output folder.

    A symbolic link (the folder itself, a folder or a file below it) that stays inside ``within`` is followed, as
    the container's uploader follows it; one that leads out of it raises StoreError naming the link and its target:
    on this host a link out of the job's directory names the host's own files, not the container's. A link that
    names nothing is skipped; so are the store's temporary files. ``shown_as`` names ``within`` in messages.
    """
    root = within.resolve()
    found: dict[str, Path] = {}
    if not os.path.lexists(directory):
        return found
    todo = [(_inside(directory, root, within, shown_as), "")]
    seen: set[Path] = set()
    while todo:
        folder, prefix = todo.pop()
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                name, path = prefix + entry.name, Path(entry.path)
                if entry.is_symlink():
                    path = _inside(Path(directory, *name.split("/")), root, within, shown_as)
                if path.is_dir():
                    todo.append((path, name + "/"))
                elif path.is_file():
                    found[name] = path
    return found


def _inside(path: Path, root: Path, within: Path, shown_as: str) -> Path:
    """``path`` resolved, when it stays inside ``root``; else StoreError naming the link that leads out."""
    resolved = path.resolve()
    if resolved.is_relative_to(root):
        return resolved
    link = next(
        (
            step
            for step in [path, *path.parents]
            if step.is_relative_to(within) and step.is_symlink() and not step.resolve().is_relative_to(root)
        ),
        path,
    )
    shown = link.relative_to(within).as_posix() if link.is_relative_to(within) else str(link)
    label = f"{shown_as.rstrip('/')}/{shown}" if shown_as else shown
    target = os.readlink(link) if link.is_symlink() else str(resolved)
    raise StoreError(
        f"{label} is a symbolic link to {target}, outside the job's directory: a job's outputs are uploaded from "
        "its own directory only (links that stay inside it are followed)"
    )


def _regular_files(directory: Path) -> Iterator[Path]:
    """Regular files under ``directory`` (recursively), skipping the store's temporary files and links."""
    if not directory.is_dir():
        return
    for current, dirs, files in os.walk(directory):
        dirs[:] = [name for name in dirs if not name.startswith(TEMP_PREFIX)]
        for name in files:
            file = Path(current, name)
            if not name.startswith(TEMP_PREFIX) and file.is_file() and not file.is_symlink():
                yield file
