"""Per-worker request metrics and model state, as a small JSON file a dashboard (or ``status``) can read.

Each worker owns ``workers/<pid>.json`` and rewrites it atomically at most once a second while serving, and at
once after a model swap, so readers never see half a file and workers never share one::

    {"pid": 123, "model_package_arn": "...", "generation": 2, "swap_error": null, "updated_at": "...",
     "requests": 1200, "by_status": {"200": 1190, "400": 10}, "latency_ms_sum": 840.5,
     "latency_ms_buckets": {"1": 900, "2": 250, ..., "+Inf": 1200}, "health_checks": 40}

``requests`` and what follows it count invocations only (``/invocations`` and the Runtime API's
``/endpoints/NAME/invocations``), as SageMaker's ``Invocations`` metric does; ``GET /ping`` health checks are
counted apart, in ``health_checks``. Buckets are cumulative (Prometheus style): ``"5": n`` counts requests that
took at most 5 ms.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.errors import ShowcaseError
from showcase.files import write_json_atomically

BUCKETS_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0)
WRITE_INTERVAL_S = 1.0


class WorkerMetrics:
    """Counters of one worker process; ``observe`` is cheap, the file is rewritten at most once a second."""

    def __init__(self, workers_dir: Path, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.path = workers_dir / f"{self.pid}.json"
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._dirty = False
        self.requests = 0
        self.health_checks = 0
        self.by_status: dict[str, int] = {}
        self.latency_ms_sum = 0.0
        self._buckets = [0] * (len(BUCKETS_MS) + 1)
        self.model_package_arn = ""
        self.generation = 0
        self.swap_error: str | None = None

    def observe(self, status: int, seconds: float) -> None:
        """One invocation, answered with ``status`` after ``seconds``."""
        millis = seconds * 1000.0
        with self._lock:
            self.requests += 1
            key = str(status)
            self.by_status[key] = self.by_status.get(key, 0) + 1
            self.latency_ms_sum += millis
            for index, bound in enumerate(BUCKETS_MS):
                if millis <= bound:
                    self._buckets[index] += 1
                    break
            else:
                self._buckets[-1] += 1
        self._dirty = True
        self.write_if_due()

    def health_check(self) -> None:
        with self._lock:
            self.health_checks += 1
        self._dirty = True
        self.write_if_due()

    def write_if_due(self) -> None:
        """Rewrite the file if requests came since the last write and a second has passed."""
        if self._dirty and time.monotonic() - self._last_write >= WRITE_INTERVAL_S:
            self.write()

    def set_model(self, model_package_arn: str, generation: int, swap_error: str | None = None) -> None:
        with self._lock:
            if swap_error is None:
                self.model_package_arn, self.generation = model_package_arn, generation
            self.swap_error = swap_error
        self.write()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            cumulative, running = {}, 0
            for bound, count in zip((*map(_label, BUCKETS_MS), "+Inf"), self._buckets, strict=True):
                running += count
                cumulative[bound] = running
            return {
                "pid": self.pid,
                "model_package_arn": self.model_package_arn,
                "generation": self.generation,
                "swap_error": self.swap_error,
                "updated_at": timestamp(timespec="milliseconds"),
                "requests": self.requests,
                "by_status": dict(self.by_status),
                "latency_ms_sum": round(self.latency_ms_sum, 3),
                "latency_ms_buckets": cumulative,
                "health_checks": self.health_checks,
            }

    def write(self) -> None:
        self._last_write, self._dirty = time.monotonic(), False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomically(self.path, self.snapshot())
        except (OSError, ShowcaseError):
            return  # metrics must never fail a request; the next write retries


def _label(bound: float) -> str:
    return str(int(bound)) if bound.is_integer() else str(bound)


def read_worker_files(workers_dir: Path) -> list[dict[str, Any]]:
    """Every worker file (live or not) under ``workers_dir``; unreadable ones are skipped."""
    found = []
    for path in sorted(workers_dir.glob("*.json")) if workers_dir.is_dir() else []:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return found
