"""What a handler gets (``Call``), what it returns (``Reply``), and the state they share (``State``)."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.datastructures import Headers

from showcase.registry import Registry
from showcase.settings import EXECUTION_ROLE_NAME, ROLE_SESSION_NAME, Settings
from showcase.store import ObjectStore

logger = logging.getLogger(__name__)

DEFAULT_ROLE_NAME = EXECUTION_ROLE_NAME
"""The role the local API's caller has assumed (the role ``run_pipeline.py --local`` names, and a local build's)."""
SESSION_NAME = ROLE_SESSION_NAME


@dataclass(frozen=True)
class Identity:
    """Who the caller is, as STS and IAM answer: an assumed SageMaker execution role."""

    account: str
    role_name: str = DEFAULT_ROLE_NAME

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_name}"

    @property
    def assumed_role_arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{SESSION_NAME}"


class Children:
    """Processes the API started (execution runners, endpoint deployments): each is reaped by a thread of its own,
    so one that ends never lingers as a zombie, and ``on_exit`` learns its exit code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}

    def watch(self, process: subprocess.Popen[bytes], on_exit: Callable[[int], None] | None = None) -> None:
        with self._lock:
            self._running[process.pid] = process
        threading.Thread(target=self._reap, args=(process, on_exit), name=f"reap-{process.pid}", daemon=True).start()

    def _reap(self, process: subprocess.Popen[bytes], on_exit: Callable[[int], None] | None) -> None:
        code = process.wait()
        logger.debug("child process %d ended with exit code %d", process.pid, code)
        try:
            if on_exit is not None:
                on_exit(code)
        finally:  # running until its end is recorded: a status read in between sees it still at work
            with self._lock:
                self._running.pop(process.pid, None)

    def running(self, pid: int) -> bool:
        """Whether ``pid`` is a process the API started whose end (its ``on_exit``) is not yet done."""
        with self._lock:
            return pid in self._running


class State:
    """The home every handler works on, and what lives as long as the API process."""

    def __init__(
        self, settings: Settings, identity: Identity, operations: Mapping[tuple[str, str], Handler] | None = None
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.operations: Mapping[tuple[str, str], Handler] = operations or {}
        """Every operation's handler by (service, operation): what a local CloudFormation stack calls to make its
        resources, as a caller would (given here, so that no handler imports the table that imports it)."""
        self.store = ObjectStore(settings.store_root)
        self.registry = Registry.from_settings(settings)
        self.children = Children()
        self.stopping: set[str] = set()
        """Execution ids StopPipelineExecution was called for, while their runner still runs."""
        self.answered: dict[tuple[str, str], dict[str, Any]] = {}
        """What an operation answered to a ``ClientRequestToken`` (botocore sends one and keeps it when it
        retries a request that timed out): the same request again gets the same answer, not a second run."""

    @property
    def root(self) -> Path:
        """The API's own files under the home (multipart uploads, endpoint records, runner logs)."""
        return self.settings.home / "api"


BodyStream = AsyncIterator[bytes]


@dataclass(frozen=True)
class FileSlice:
    """A byte range of a file, sent as the response body (GetObject)."""

    path: Path
    offset: int
    length: int


@dataclass
class Call:
    state: State
    service: str
    operation: str
    params: dict[str, Any]
    headers: Headers
    request_id: str
    stream: BodyStream | None = None
    """The request body, chunk by chunk, for the operations whose payload streams (PutObject, UploadPart)."""


@dataclass
class Reply:
    result: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    """Overrides the operation's modeled status (206 for a range)."""
    file: FileSlice | None = None
    raw: tuple[int, list[tuple[str, str]], bytes] | None = None
    """An answer already on the wire (InvokeEndpoint, forwarded from the endpoint's own server)."""


Handler = Callable[[Call], dict[str, Any] | Reply | Awaitable[dict[str, Any] | Reply]]
