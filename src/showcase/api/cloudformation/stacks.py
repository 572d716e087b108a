"""Stack records: one JSON file per stack under ``<home>/cloudformation/``, changed only under ``LOCK``.

A stack record holds what DescribeStacks answers (name, id, status and reason, parameters, outputs, tags, times),
the template and parameter values it was last deployed with, its resources (type, physical id, status, the
properties they were made with, their attributes), its events (oldest first) and its change sets. A deleted
stack moves to ``deleted/<stack id's uuid>.json``: DescribeStacks finds it by its StackId, never by its name.

An operation (create, update, delete, and their rollbacks) runs in a thread of the API process and notes that
process in the record; a record read ``*_IN_PROGRESS`` whose process is gone (the API was stopped) is closed as
failed, naming why, so the stack can be deleted or updated again.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.api.errors import ApiError
from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.processes import pid_alive, process_started

LOCK = threading.RLock()
"""Guards every stack record: the handlers and the operations' threads read-modify-write them."""
STACK_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
CHANGE_SET_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
STACK_TYPE = "AWS::CloudFormation::Stack"
_FAILED_WHEN_INTERRUPTED = {
    "CREATE_IN_PROGRESS": "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
    "UPDATE_IN_PROGRESS": "UPDATE_FAILED",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS": "DELETE_FAILED",
}


def now() -> str:
    return timestamp()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def does_not_exist(name: str) -> ApiError:
    """CloudFormation's answer for a stack that is not there (``aws cloudformation deploy`` looks for these words)."""
    return ApiError("ValidationError", f"Stack with id {name} does not exist")


def check_name(name: str, what: str = "stack name") -> str:
    if not STACK_NAME.match(name):
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]* (at most 128 characters)",
        )
    return name


class Stacks:
    """The stack records of one home."""

    def __init__(self, home: Path) -> None:
        self.root = home / "cloudformation"

    def _live(self, name: str) -> Path:
        return self.root / "stacks" / f"{check_name(name)}.json"

    def _retired(self, stack_id: str) -> Path:
        return self.root / "deleted" / f"{stack_id.rsplit('/', 1)[-1]}.json"

    def find(self, name_or_id: str) -> dict[str, Any] | None:
        """A stack by name (a live one) or by StackId (live or deleted), or None."""
        if name_or_id.startswith("arn:"):
            parts = name_or_id.split("/")
            if len(parts) != 3 or not re.fullmatch(r"[0-9a-f-]{36}", parts[2]):
                return None
            for path in (self._live(parts[1]), self._retired(name_or_id)):
                stack = _read(path)
                if stack is not None and stack["StackId"] == name_or_id:
                    return _closed_if_interrupted(self, stack)
            return None
        stack = _read(self._live(name_or_id))
        return None if stack is None else _closed_if_interrupted(self, stack)

    def get(self, name_or_id: str) -> dict[str, Any]:
        stack = self.find(name_or_id)
        if stack is None:
            raise does_not_exist(name_or_id)
        return stack

    def save(self, stack: dict[str, Any]) -> None:
        path = self._live(stack["StackName"])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, stack)

    def retire(self, stack: dict[str, Any]) -> None:
        """A deleted stack: kept for DescribeStacks by id and ListStacks, gone by name."""
        path = self._retired(stack["StackId"])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, stack)
        self._live(stack["StackName"]).unlink(missing_ok=True)

    def live(self) -> list[dict[str, Any]]:
        return [self.get(path.stem) for path in sorted((self.root / "stacks").glob("*.json"))]

    def every(self) -> list[dict[str, Any]]:
        retired = [_read(path) for path in sorted((self.root / "deleted").glob("*.json"))]
        return [*self.live(), *(stack for stack in retired if stack is not None)]

    def change(self, name: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read, edit and save a live stack in one step; the edited copy."""
        with LOCK:
            stack = self.get(name)
            edit(stack)
            self.save(stack)
            return copy.deepcopy(stack)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return document


def _closed_if_interrupted(stacks: Stacks, stack: dict[str, Any]) -> dict[str, Any]:
    failed = _FAILED_WHEN_INTERRUPTED.get(stack["StackStatus"])
    runner = stack.get("Operation") or {}
    if failed is None or not runner or pid_alive(runner["pid"], runner.get("started")):
        return stack
    reason = "The local API stopped during this operation; the stack's resources may be half made: delete the stack"
    with LOCK:
        stack.update(StackStatus=failed, StackStatusReason=reason, Operation=None)
        add_event(stack, stack["StackName"], STACK_TYPE, stack["StackId"], failed, reason)
        stacks.save(stack)
    return stack


def new_id(kind: str, name: str, region: str, account: str) -> str:
    """A StackId (``stack``) or ChangeSetId (``changeSet``): ``arn:aws:cloudformation:...:<kind>/<name>/<uuid>``."""
    return f"arn:aws:cloudformation:{region}:{account}:{kind}/{name}/{uuid.uuid4()}"


def running_here() -> dict[str, Any]:
    """What the record notes of the process running an operation."""
    return {"pid": os.getpid(), "started": process_started(os.getpid())}


def add_event(
    stack: dict[str, Any],
    logical: str,
    resource_type: str,
    physical: str,
    status: str,
    reason: str | None = None,
    properties: Any = None,
) -> None:
    """Append one StackEvent to the record (DescribeStackEvents answers them newest first)."""
    event = {
        "StackId": stack["StackId"],
        "EventId": str(uuid.uuid4()),
        "StackName": stack["StackName"],
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": resource_type,
        "Timestamp": now(),
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    if properties is not None:
        event["ResourceProperties"] = json.dumps(properties, default=str)
    stack.setdefault("Events", []).append(event)


def events(stack: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The stack's events, newest first, as DescribeStackEvents answers them."""
    for event in reversed(stack.get("Events", [])):
        yield {**event, "Timestamp": parse_time(event["Timestamp"])}
