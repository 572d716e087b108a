"""Callback steps' tokens and their completions, kept under the home so that none is lost.

A waiting Callback step writes ``<home>/callbacks/<token>.json`` (``Waiting``: its execution, step, queue and
declared outputs). Completing it (``showcase callback``, SendPipelineExecutionStepSuccess/Failure through the
local API, the dashboard's form) rewrites that file atomically as ``Succeeded`` with its output parameters or
``Failed`` with a reason; the step reads it when it next looks (twice a second), and a completion sent between two
looks is there at the next. A token that is not waiting any more cannot be completed, nor can one whose runner
was killed while it waited (its execution is then Failed, "interrupted": a retry sends a new token).
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from showcase.errors import NoSuchResource, ShowcaseError, UsageError
from showcase.files import write_json_atomically
from showcase.names import CALLBACK_TOKEN
from showcase.processes import pid_alive, process_started

WAITING = "Waiting"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
STOPPED = "Stopped"
MAX_OUTPUTS = 50
MAX_NAME = 256
MAX_VALUE = 1024
MAX_REASON = 256
"""SendPipelineExecutionStepSuccess/Failure's limits (sagemaker service-2.json). ``ClientRequestToken``: the
idempotency token of the request that completed it (the local API answers a repeat of it as the first)."""


def new_token() -> str:
    """A fresh CallbackToken: 10 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass(frozen=True)
class Callbacks:
    """The callback tokens under one home."""

    home: Path

    @property
    def root(self) -> Path:
        return self.home / "callbacks"

    def wait_for(self, token: str, waiting: Mapping[str, Any]) -> None:
        """Record that a step of this process waits on ``token`` (``waiting``: execution ARN and id, step name,
        queue URL)."""
        self.root.mkdir(parents=True, exist_ok=True)
        runner = {"RunnerPid": os.getpid(), "RunnerStarted": process_started(os.getpid())}
        write_json_atomically(self._path(token), {**waiting, **runner, "CallbackToken": token, "Status": WAITING})

    def read(self, token: str) -> dict[str, Any]:
        path = self._path(token)
        if not path.is_file():
            raise NoSuchResource(f"no Callback step has the token {token}")
        found: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return found

    def waiting(self) -> list[dict[str, Any]]:
        """Every token a step still waits on."""
        if not self.root.is_dir():
            return []
        found = [json.loads(path.read_text("utf-8")) for path in sorted(self.root.glob("*.json"))]
        return [entry for entry in found if entry.get("Status") == WAITING and _runs(entry)]

    def waiting_on(self, execution_id: str, step_name: str) -> dict[str, Any] | None:
        """The token a step of an execution waits on (None: that step waits on none)."""
        found = (e for e in self.waiting() if (e.get("ExecutionId"), e.get("StepName")) == (execution_id, step_name))
        return next(found, None)

    def complete_step(self, execution_id: str, step_name: str, outputs: Mapping[str, str], failure: str | None) -> None:
        """Complete the token a step waits on: with ``outputs``, or failed with ``failure`` when it is given."""
        waiting = self.waiting_on(execution_id, step_name)
        if waiting is None:
            raise ShowcaseError(f"step {step_name} of execution {execution_id} waits on no callback token")
        if failure is not None:
            self.fail(waiting["CallbackToken"], failure)
        else:
            self.succeed(waiting["CallbackToken"], outputs)

    def succeed(self, token: str, outputs: Mapping[str, str], *, request: str | None = None) -> dict[str, Any]:
        """SendPipelineExecutionStepSuccess: the step succeeds with ``outputs``; returns the completed record."""
        if len(outputs) > MAX_OUTPUTS:
            raise UsageError(f"at most {MAX_OUTPUTS} output parameters may be sent, got {len(outputs)}")
        for name, value in outputs.items():
            if not 1 <= len(name) <= MAX_NAME or len(str(value)) > MAX_VALUE:
                raise UsageError(
                    f"output parameter {name[:40]!r}: a name is 1-{MAX_NAME} characters and a value at most {MAX_VALUE}"
                )
        values = {name: str(value) for name, value in outputs.items()}
        return self._complete(token, {"Status": SUCCEEDED, "OutputParameters": values, "ClientRequestToken": request})

    def fail(self, token: str, reason: str, *, request: str | None = None) -> dict[str, Any]:
        """SendPipelineExecutionStepFailure: the step fails with ``reason``; returns the completed record."""
        if len(reason) > MAX_REASON:
            raise UsageError(f"a failure reason is at most {MAX_REASON} characters, got {len(reason)}")
        return self._complete(token, {"Status": FAILED, "FailureReason": reason, "ClientRequestToken": request})

    def stopped(self, token: str) -> None:
        """The step stopped waiting (its execution was stopped): the token cannot be completed any more."""
        self._complete(token, {"Status": STOPPED})

    def _complete(self, token: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
        entry = self.read(token)
        if entry.get("Status") == WAITING and not _runs(entry):
            raise ShowcaseError(
                f"the Callback step {entry.get('StepName')} of token {token} waits no more: the runner of execution "
                f"{entry.get('ExecutionId')} is gone; `showcase retry {entry.get('ExecutionId')}` runs it again"
            )
        if entry.get("Status") != WAITING:
            raise ShowcaseError(
                f"the Callback step {entry.get('StepName')} of token {token} is not waiting: "
                f"it is {entry.get('Status')}"
            )
        done = {**entry, **outcome}
        write_json_atomically(self._path(token), done)
        return done

    def _path(self, token: str) -> Path:
        return self.root / f"{CALLBACK_TOKEN.check('callback token', token)}.json"


def _runs(entry: Mapping[str, Any]) -> bool:
    """Whether the runner that waits on a token still runs (a runner killed while it waited left it Waiting)."""
    pid = entry.get("RunnerPid")
    return not isinstance(pid, int) or pid_alive(pid, entry.get("RunnerStarted"))
