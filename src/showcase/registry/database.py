"""The registry's SQLite file: schema, connections and single-transaction units of work.

WAL lets readers run while one writer writes; ``busy_timeout`` makes concurrent writers (other
processes registering at the same moment) wait instead of failing; every change is one
``BEGIN IMMEDIATE`` transaction, so the version number a writer allocates is still free when it inserts.
Every SQLite error (a full disk, a read-only file or directory, a file that is not a database) becomes one
RegistryError that names the registry file and the cause.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from showcase.errors import RegistryError

SCHEMA = """
CREATE TABLE IF NOT EXISTS model_package_groups (
    name        TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    arn         TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_packages (
    arn                  TEXT NOT NULL PRIMARY KEY,
    group_name           TEXT NOT NULL COLLATE NOCASE REFERENCES model_package_groups (name),
    version              INTEGER NOT NULL CHECK (version >= 1),
    description          TEXT,
    approval_status      TEXT NOT NULL
        CHECK (approval_status IN ('PendingManualApproval', 'Approved', 'Rejected')),
    approval_description TEXT,
    created_at           TEXT NOT NULL,
    modified_at          TEXT NOT NULL,
    request              TEXT NOT NULL,
    metrics              TEXT,
    lineage              TEXT,
    UNIQUE (group_name, version)
);
CREATE INDEX IF NOT EXISTS model_packages_by_created ON model_packages (created_at, version);
CREATE TABLE IF NOT EXISTS models (
    name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    arn        TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    request    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trained_archives (
    sha256     TEXT NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    uri        TEXT NOT NULL,
    job_name   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
TABLES = ("model_package_groups", "model_packages", "models", "trained_archives")
# What to do about the SQLite errors a user can cause or meet, by the words of the error.
HINTS = {
    "disk is full": " (free some space on its disk)",
    "disk I/O error": " (is its disk full or failing?)",
    "readonly database": " (the file, or its directory, cannot be written: check their permissions and mount)",
    "unable to open database file": " (check the file and its directory exist and can be read and written)",
    "file is not a database": " (it is damaged or another kind of file: move it aside to start an empty registry)",
}


class Database:
    """Opens a short-lived connection per unit of work: safe across threads and processes."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0, on_wait: Callable[[], None] | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.on_wait = on_wait
        """Called once when a write finds another writer holding the lock, before waiting for it."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create the model registry {path}: {exc.strerror or exc}") from exc
        with self._errors("opened"):
            if not self._has_schema():
                self._initialize()

    def _initialize(self) -> None:
        """Switch the file to WAL, then create the tables: the first process to open a new registry does it.

        Changing the journal mode does not wait on SQLite's busy handler (it answers "locked" at once while
        another process holds the file), so it is retried here for up to the busy timeout. WAL is set before
        the tables exist, so a registry whose tables exist is already in WAL mode.
        """
        deadline = time.monotonic() + self.busy_timeout_s
        with closing(self._connect()) as conn:
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise RegistryError(f"cannot open the model registry at {self.path}: {exc}") from exc
                    mode = None
                if mode == "wal":
                    break
                if time.monotonic() >= deadline:
                    raise RegistryError(f"cannot switch the model registry at {self.path} to WAL (mode {mode})")
                time.sleep(0.02)
        with self.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def _has_schema(self) -> bool:
        """Whether every table exists (a registry from before a table was added gets it on opening).

        A read, so opening a registry never waits behind a writer.
        """
        if not self.path.exists():
            return False
        marks = ", ".join("?" for _ in TABLES)
        with closing(self._connect()) as conn:
            found = conn.execute(
                f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", TABLES
            ).fetchone()[0]
        return bool(found == len(TABLES))

    def _connect(self) -> sqlite3.Connection:
        with self._errors("opened"):
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def _errors(self, done: str) -> Iterator[None]:
        """Turn a SQLite error inside the block into a RegistryError naming the file and the cause."""
        try:
            yield
        except sqlite3.Error as exc:
            cause = str(exc)
            hint = next((hint for words, hint in HINTS.items() if words in cause), "")
            raise RegistryError(f"the model registry {self.path} cannot be {done}: {cause}{hint}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it is committed, or none of it."""
        with closing(self._connect()) as conn, self._errors("written"):
            try:
                self._begin_immediate(conn)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # a failed rollback must not hide why the write failed
                        conn.execute("ROLLBACK")
                raise

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock; when another writer holds it, say so through ``on_wait``, then wait for it."""
        if self.on_wait is None:
            conn.execute("BEGIN IMMEDIATE")
            return
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            self.on_wait()
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("BEGIN IMMEDIATE")
        else:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads (a deferred transaction)."""
        with closing(self._connect()) as conn, self._errors("read"):
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
