"""AddTags, ListTags and DeleteTags: the tags of any SageMaker ARN, kept in ``<home>/api/tags.json``."""

from __future__ import annotations

import json
import threading
from typing import Any

from showcase.api.listing import page, with_token
from showcase.api.state import Call, Handler, State
from showcase.files import write_json_atomically

_LOCK = threading.Lock()


def _read(state: State) -> dict[str, list[dict[str, str]]]:
    try:
        document: dict[str, list[dict[str, str]]] = json.loads((state.root / "tags.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return document


def add(state: State, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """Add (or overwrite by key) ``tags`` on ``arn``; the resource's tags after."""
    with _LOCK:
        document = _read(state)
        merged = {tag["Key"]: tag.get("Value", "") for tag in document.get(arn, [])}
        merged.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        document[arn] = [{"Key": key, "Value": value} for key, value in merged.items()]
        state.root.mkdir(parents=True, exist_ok=True)
        write_json_atomically(state.root / "tags.json", document)
        return document[arn]


def add_tags(call: Call) -> dict[str, Any]:
    return {"Tags": add(call.state, call.params["ResourceArn"], call.params["Tags"])}


def list_tags(call: Call) -> dict[str, Any]:
    tags = _read(call.state).get(call.params["ResourceArn"], [])
    items, token = page(tags, call.params, default=50)
    return with_token({"Tags": items}, token)


def delete_tags(call: Call) -> dict[str, Any]:
    with _LOCK:
        document = _read(call.state)
        keys = set(call.params["TagKeys"])
        document[call.params["ResourceArn"]] = [
            tag for tag in document.get(call.params["ResourceArn"], []) if tag["Key"] not in keys
        ]
        state_root = call.state.root
        state_root.mkdir(parents=True, exist_ok=True)
        write_json_atomically(state_root / "tags.json", document)
    return {}


OPERATIONS: dict[str, Handler] = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
