"""An endpoint as SageMaker reports it, over the local endpoint's own processes and files.

CreateEndpoint runs ``showcase-endpoint serve`` and UpdateEndpoint ``showcase-endpoint deploy`` (the same
commands a user runs, hot swap included), each in a process of its own, with the deploy config this module
writes. What SageMaker adds to an endpoint (its config's name, times, a failure reason, the process deploying it)
is kept beside the local endpoint's files, in ``<home>/endpoints/<name>/endpoint.json``. Its status is read from
those processes and ``server.json``:

    Creating   the serve process runs, its server does not answer yet
    InService  the server answers (``server.json`` names a live process)
    Updating   a deploy process runs against the live server
    Deleting   DeleteEndpoint sent SIGTERM and the server still drains
    Failed     the serve process ended before its server answered (its log's last line is the reason)
    OutOfService  no server, none starting (stopped with ``showcase-endpoint stop``)
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.api.state import State
from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.processes import pid_alive, process_started
from showcase.serving.deployment import EndpointPaths, read_server_info

LOCK = threading.RLock()
"""Guards every endpoint record; the reaper threads update them when a process ends."""


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def paths(state: State, name: str) -> EndpointPaths:
    return EndpointPaths(state.settings.home, name)


def record_file(endpoint: EndpointPaths) -> Path:
    return endpoint.root / "endpoint.json"


def read_record(endpoint: EndpointPaths) -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads(record_file(endpoint).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return document


def write_record(endpoint: EndpointPaths, record: dict[str, Any]) -> None:
    endpoint.root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(record_file(endpoint), record)


def update_record(endpoint: EndpointPaths, change: Callable[[dict[str, Any]], None]) -> None:
    with LOCK:
        record = read_record(endpoint)
        if record is not None:
            change(record)
            record["LastModifiedTime"] = timestamp()
            write_record(endpoint, record)


def status(endpoint: EndpointPaths, record: dict[str, Any] | None, reaping: Callable[[int], bool] | None = None) -> str:
    """The endpoint's status; ``reaping(pid)`` says whether a process the API started has ended but its end is not
    yet in the record (until it is, the process counts as running: an update that has just ended is Updating, not
    InService with the config it is about to leave)."""
    running = read_server_info(endpoint) is not None
    process = (record or {}).get("Process")
    busy = process is not None and (
        pid_alive(process["pid"], process.get("started")) or (reaping is not None and reaping(process["pid"]))
    )
    if (record or {}).get("Deleting"):
        return "Deleting" if running else "Deleted"
    if busy and process is not None and process["kind"] == "update":
        return "Updating"
    if running:
        return "InService"
    if busy:
        return "Creating"
    if (record or {}).get("FailureReason") and not (record or {}).get("Served"):
        return "Failed"
    return "OutOfService"


def write_deploy_config(
    endpoint: EndpointPaths, parameters: dict[str, str], deployment: dict[str, Any] | None = None
) -> Path:
    """The config ``showcase-endpoint serve/deploy --config`` reads (deploy/endpoint_config_adj.json's shape), with
    UpdateEndpoint's ``DeploymentConfig`` and its alarms' definitions beside the parameters when it has one."""
    path = endpoint.root / "deploy-config.json"
    endpoint.root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, {"Parameters": parameters, "Tags": [], **(deployment or {})})
    return path


def start(
    state: State, endpoint: EndpointPaths, kind: str, config: Path, on_end: Callable[[int, int, str], None]
) -> None:
    """Run ``showcase-endpoint serve`` (kind ``create``) or ``deploy`` (``update``) for the endpoint, in the
    background; ``on_end(pid, exit code, last line of its log)`` when it ends. The record notes the process."""
    command = "serve" if kind == "create" else "deploy"
    arguments = ["--config", str(config), "--home", str(state.settings.home)]
    if kind == "create":
        arguments += ["--port", "0"]
    log_path = endpoint.root / f"{command}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "showcase", "endpoint", command, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # an endpoint outlives the API, as on SageMaker (showcase-endpoint stop ends it)
        )
    noted = {"pid": process.pid, "started": process_started(process.pid), "kind": kind, "config": config.name}
    update_record(endpoint, lambda record: record.update(Process=noted))
    state.children.watch(process, lambda code: on_end(process.pid, code, _last_line(log_path)))
    if kind == "create":
        threading.Thread(target=_note_served, args=(endpoint, process), name="endpoint-start", daemon=True).start()


def _note_served(endpoint: EndpointPaths, process: subprocess.Popen[bytes]) -> None:
    """Mark the endpoint served once its server answers: after that, its process ending is no failure to create."""
    while process.poll() is None:
        if read_server_info(endpoint) is not None:
            update_record(endpoint, lambda record: record.update(Served=True, FailureReason=None))
            return
        time.sleep(0.1)


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


def _clear(record: dict[str, Any], pid: int) -> None:
    if (record.get("Process") or {}).get("pid") == pid:
        record["Process"] = None


def serve_ended(endpoint: EndpointPaths) -> Callable[[int, int, str], None]:
    """The end of a serve process: a failure to start (before its server answered), or a server that stopped."""

    def ended(pid: int, code: int, last_line: str) -> None:
        def change(record: dict[str, Any]) -> None:
            _clear(record, pid)
            if not record.get("Served") and not record.get("Deleting"):
                record["FailureReason"] = last_line or f"showcase-endpoint serve exited with code {code}"

        update_record(endpoint, change)

    return ended


def deploy_ended(endpoint: EndpointPaths, config_name: str) -> Callable[[int, int, str], None]:
    """An update that succeeded switches the endpoint's config; one that failed leaves the old model serving."""

    def ended(pid: int, code: int, last_line: str) -> None:
        def change(record: dict[str, Any]) -> None:
            _clear(record, pid)
            if code == 0:
                record.update(EndpointConfigName=config_name, FailureReason=None)
            else:
                record["FailureReason"] = f"Update failed, the previous model keeps serving: {last_line}"

        update_record(endpoint, change)

    return ended
