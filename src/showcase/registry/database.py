"""The registry's SQLite file: schema, connections and single-transaction units of work.

WAL lets readers run while one writer writes; ``busy_timeout`` makes concurrent writers (other
processes registering at the same moment) wait instead of failing; every change is one
``BEGIN IMMEDIATE`` transaction, so the version number a writer allocates is still free when it inserts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
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
"""
TABLES = ("model_package_groups", "model_packages", "models")


class Database:
    """Opens a short-lived connection per unit of work: safe across threads and processes."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0, on_wait: Callable[[], None] | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.on_wait = on_wait
        """Called once when a write finds another writer holding the lock, before waiting for it."""
        path.parent.mkdir(parents=True, exist_ok=True)
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
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot open the model registry at {self.path}: {exc}") from exc
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it is committed, or none of it."""
        with closing(self._connect()) as conn:
            try:
                self._begin_immediate(conn)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise RegistryError(f"the model registry at {self.path} failed: {exc}") from exc
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
        with closing(self._connect()) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")
