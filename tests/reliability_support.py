"""Helpers shared by the reliability tests and ``benchmarks/reliability.py``: a loopback load generator, worker
memory, and a state home holding the Abalone pipeline's definition and code (built once, run many times)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
PIPELINE_NAME = "crayonShowcasePipeline"
LOOPBACK = "127.0.0.1"


# -- load ---------------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies_s) + len(self.errors)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q) * 1000) if self.latencies_s else float("nan")


async def _client(port: int, request: bytes, expect: bytes, stop_at: float, result: LoadResult) -> None:
    """One keep-alive connection sending ``request`` until ``stop_at``; reconnects after an error."""
    reader = writer = None
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(LOOPBACK, port)
            assert reader is not None
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.split(b"\r\n")
            length = next(int(line[15:]) for line in lines if line.lower().startswith(b"content-length:"))
            body = await asyncio.wait_for(reader.readexactly(length), 30)
            status = head.split(b" ", 2)[1]
            if status != b"200" or body != expect:
                result.errors.append(f"{status.decode()} {body[:200]!r}")
            else:
                result.latencies_s.append(time.perf_counter() - started)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, StopIteration) as exc:
            result.errors.append(repr(exc))
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_load(port: int, body: str, expect: str, *, clients: int, seconds: float) -> LoadResult:
    """``clients`` concurrent keep-alive connections POSTing ``body`` as CSV for ``seconds`` (loopback only)."""
    payload = body.encode()
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    result = LoadResult(clients, seconds)

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, request, expect.encode(), stop_at, result) for _ in range(clients)))

    asyncio.run(main())
    return result


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss / 1e6)


# -- the pipeline, built once -------------------------------------------------------------------------------


def build_definition(directory: Path, data: Path) -> tuple[Path, Path]:
    """Build the Abalone pipeline's definition for the local runtime (reading ``data``) in a subprocess.

    Returns the definition file and a JSON file of the code uploads ({uri: text}); both are cached in
    ``directory``. A subprocess keeps the SDK's import-time logging and state out of the caller.
    """
    definition, uploads = directory / "definition.json", directory / "uploads.json"
    if definition.is_file() and uploads.is_file():
        return definition, uploads
    directory.mkdir(parents=True, exist_ok=True)
    script = (
        "import json, sys\n"
        "from showcase import pipeline\n"
        "from showcase.builder.modules import build\n"
        "built = build(pipeline, {**pipeline.local_kwargs(), 'input_data': sys.argv[1]})\n"
        "d, u = built.definition, built.uploads\n"
        "json.dump(d, open(sys.argv[2], 'w'))\n"
        "json.dump({k: v.decode() for k, v in u.items()}, open(sys.argv[3], 'w'))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(data), str(definition), str(uploads)],
        check=True,
        capture_output=True,
        timeout=300,
        env=clean_env(),
    )
    return definition, uploads


def prepare_home(home: Path, uploads: Path) -> Path:
    """A state home with the pipeline's code in its object store (what run_pipeline uploads first)."""
    from showcase.store import ObjectStore

    store = ObjectStore(home / "store")
    for uri, text in json.loads(uploads.read_text()).items():
        store.put_bytes(uri, text.encode())
    return home


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    env["PYTHONPATH"] = str(REPO / "src")
    return {**env, **extra}


def local_cli(home: Path, *args: str) -> list[str]:
    """The argv of ``showcase-local --home HOME ARGS``."""
    return [sys.executable, "-m", "showcase", "--home", str(home), *args]


def start_args(definition: Path, *parameters: str) -> list[str]:
    flags = [flag for parameter in parameters for flag in ("-p", parameter)]
    return ["start", "--definition", str(definition), "--pipeline-name", PIPELINE_NAME, *flags]


def read_record(home: Path, execution_id: str) -> dict[str, Any]:
    """The record as a reader sees it, mid-run too (``execution.json`` with its journal replayed)."""
    from showcase.local.records import ExecutionStore

    return ExecutionStore(home / "executions").load(execution_id).to_json()
