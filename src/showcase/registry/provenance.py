"""The model archives this home's own training jobs wrote, known by their sha256.

A training job's ``model.tar.gz`` is recorded when the runner uploads it (its URI, the job's name, the sha256 of
its bytes). A pickled ``xgboost-model`` (the built-in images before 1.3-1) is unpickled only in a job or endpoint
worker process, and only when its archive is one of these, byte for byte, or the user allows pickled models
(``SHOWCASE_ALLOW_PICKLED_MODELS``): ``unpickle_permission`` is that decision, made where nothing is unpickled.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from showcase.clock import timestamp
from showcase.registry.database import Database

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class TrainedArchives:
    """The ``trained_archives`` table of the registry file at ``path``."""

    def __init__(self, path: Path) -> None:
        self._db = Database(path)

    def record(self, archive: Path, *, uri: str, job_name: str) -> str:
        """Note ``archive`` (uploaded to ``uri`` by ``job_name``); its sha256."""
        sha256 = sha256_of(archive)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO trained_archives (sha256, uri, job_name, created_at) VALUES (?, ?, ?, ?)",
                (sha256, uri, job_name, timestamp()),
            )
        return sha256

    def job_of(self, sha256: str) -> str | None:
        """The training job that wrote the archive of this sha256, or None when this home wrote none such."""
        with self._db.reading() as conn:
            row = conn.execute("SELECT job_name FROM trained_archives WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else str(row["job_name"])


def unpickle_permission(archive: Path, registry_path: Path, *, allowed: bool) -> str | None:
    """Why a pickled model in ``archive`` may be unpickled (said in the log), or None when it may not."""
    sha256 = sha256_of(archive)
    job = TrainedArchives(registry_path).job_of(sha256)
    if job is not None:
        return f"the archive (sha256 {sha256}) is the one this home's training job {job} wrote"
    if allowed:
        return f"pickled models are allowed (SHOWCASE_ALLOW_PICKLED_MODELS); archive sha256 {sha256}"
    return None
