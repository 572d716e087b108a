"""Local SQS queues under the home: what a Callback step sends, and what the local API's SQS serves.

A queue is the directory ``<home>/sqs/<name>/``: ``attributes.json`` and one JSON file per message in
``messages/``, named so that they list in the order they were sent. A message received is hidden for its
visibility timeout (the queue's ``VisibilityTimeout``, 30 s unless set) and comes back if it is not deleted, with
``ApproximateReceiveCount`` one higher and a new receipt handle. Every change of a queue is made under the queue's
lock file (``fcntl.flock``), so the runner and the API may use one queue at once; each message is written
atomically. A queue's URL is the one SQS gives (``https://sqs.<region>.amazonaws.com/<account>/<name>``); any URL
whose last segment is the name finds it (the local API's own included).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from showcase.errors import NoSuchResource, UsageError
from showcase.files import write_json_atomically
from showcase.names import QUEUE_NAME

DEFAULT_VISIBILITY_TIMEOUT = 30
MAX_WAIT_SECONDS = 20
POLL_SECONDS = 0.2


def queue_url(region: str, account: str, name: str) -> str:
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def name_of(url: object) -> str:
    """The queue name a queue URL ends with; a UsageError when it names none."""
    path = urlparse(url).path if isinstance(url, str) else ""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise UsageError(f"{url!r} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
    return QUEUE_NAME.check("SQS queue name", name)


@dataclass(frozen=True)
class Queues:
    """The queues under one home."""

    home: Path

    @property
    def root(self) -> Path:
        return self.home / "sqs"

    def create(self, name: str, attributes: dict[str, str] | None = None) -> None:
        """Create the queue ``name`` (nothing happens when it exists)."""
        directory = self.root / QUEUE_NAME.check("SQS queue name", name)
        (directory / "messages").mkdir(parents=True, exist_ok=True)
        with self._locked(directory):
            if not (directory / "attributes.json").exists():
                stamp = str(int(time.time()))
                defaults = {"VisibilityTimeout": str(DEFAULT_VISIBILITY_TIMEOUT), "CreatedTimestamp": stamp}
                write_json_atomically(directory / "attributes.json", {**defaults, **(attributes or {})})

    def exists(self, name: str) -> bool:
        return (self.root / QUEUE_NAME.check("SQS queue name", name) / "attributes.json").is_file()

    def names(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        found = (path.name for path in self.root.iterdir() if (path / "attributes.json").is_file())
        return sorted(name for name in found if name.startswith(prefix))

    def attributes(self, name: str) -> dict[str, str]:
        loaded: dict[str, str] = json.loads((self._directory(name) / "attributes.json").read_text("utf-8"))
        with self._locked(self._directory(name)):
            loaded["ApproximateNumberOfMessages"] = str(len(list(self._messages(self._directory(name)))))
        return loaded

    def send(self, name: str, body: str) -> dict[str, str]:
        """Put a message on the queue: ``{MessageId, MD5OfMessageBody}``, as SendMessage answers."""
        directory = self._directory(name)
        message_id = str(uuid.uuid4())
        md5 = hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()
        message = {
            "MessageId": message_id,
            "Body": body,
            "MD5OfBody": md5,
            "SentTimestamp": str(int(time.time() * 1000)),
            "ReceiveCount": 0,
            "VisibleAt": 0.0,
            "ReceiptHandle": "",
        }
        with self._locked(directory):
            write_json_atomically(directory / "messages" / f"{time.time_ns():020d}-{message_id}.json", message)
        return {"MessageId": message_id, "MD5OfMessageBody": md5}

    def receive(
        self, name: str, *, max_messages: int = 1, visibility_timeout: int | None = None, wait_seconds: float = 0
    ) -> list[dict[str, Any]]:
        """Up to ``max_messages`` visible messages, hidden for the visibility timeout; waits up to
        ``wait_seconds`` (long polling, at most 20 s) for one to arrive."""
        directory = self._directory(name)
        hidden_for = visibility_timeout
        if hidden_for is None:
            hidden_for = int(self.attributes(name).get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT))
        deadline = time.monotonic() + min(max(wait_seconds, 0), MAX_WAIT_SECONDS)
        while True:
            with self._locked(directory):
                taken = self._take(directory, max(1, min(max_messages, 10)), hidden_for)
            if taken or time.monotonic() >= deadline:
                return taken
            time.sleep(POLL_SECONDS)

    def delete(self, name: str, receipt_handle: str) -> None:
        """Delete the message last received with ``receipt_handle`` (a handle no message has: nothing happens,
        as SQS ignores a handle of a message already deleted)."""
        directory = self._directory(name)
        with self._locked(directory):
            for path, message in self._messages(directory):
                if receipt_handle and message["ReceiptHandle"] == receipt_handle:
                    path.unlink()

    def change_visibility(self, name: str, receipt_handle: str, timeout: int) -> None:
        directory = self._directory(name)
        with self._locked(directory):
            for path, message in self._messages(directory):
                if receipt_handle and message["ReceiptHandle"] == receipt_handle:
                    write_json_atomically(path, {**message, "VisibleAt": time.time() + timeout})
                    return
        raise UsageError(f"receipt handle {receipt_handle!r} is not that of a message in flight on queue {name}")

    def _take(self, directory: Path, count: int, hidden_for: int) -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = []
        for path, message in self._messages(directory):
            if len(taken) == count:
                break
            if message["VisibleAt"] > time.time():
                continue
            message.update(
                ReceiveCount=message["ReceiveCount"] + 1,
                VisibleAt=time.time() + hidden_for,
                ReceiptHandle=secrets.token_urlsafe(48),
            )
            write_json_atomically(path, message)
            taken.append(message)
        return taken

    def _messages(self, directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in sorted((directory / "messages").glob("*.json")):
            yield path, json.loads(path.read_text("utf-8"))

    def _directory(self, name: str) -> Path:
        if not self.exists(name):
            raise NoSuchResource(f"the SQS queue {name} does not exist locally")
        return self.root / name

    @contextmanager
    def _locked(self, directory: Path) -> Iterator[None]:
        with (directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
