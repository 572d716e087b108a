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

``variants`` holds the same per variant, keyed ``<fleet id>/<variant name>`` (``routing.Route.metrics_key``),
with the latency as SageMaker's ``ModelLatency``, in microseconds, in buckets about 9 % wide::

    "variants": {"3/AllTraffic": {"requests": 1200, "errors_4xx": 10, "errors_5xx": 0,
                                  "latency_us_sum": 840500.0, "latency_us": {"85": 3, "86": 40, ...}}}

``latency_us`` maps a bucket ``b`` to the count of requests that took more than 2**((b-1)/8) and at most
2**(b/8) microseconds (not cumulative: the buckets are sparse). A shadow variant's answers count under its own
key and never in the endpoint's totals: the caller never sees them. Counters only grow while the worker lives;
whoever needs a window (``alarms``) takes differences between readings.
"""

from __future__ import annotations

import json
import math
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
BUCKETS_PER_DOUBLING = 8


def latency_bucket(microseconds: float) -> int:
    """The bucket of a latency: the smallest b with microseconds <= 2**(b/8) (b >= 0)."""
    return max(0, math.ceil(BUCKETS_PER_DOUBLING * math.log2(max(microseconds, 1.0)) - 1e-9))


def bucket_bound(bucket: int) -> float:
    """The largest latency (microseconds) a bucket holds."""
    return float(2 ** (bucket / BUCKETS_PER_DOUBLING))


class VariantCounters:
    """One variant's invocations in one worker."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors_4xx = 0
        self.errors_5xx = 0
        self.latency_us_sum = 0.0
        self.latency_us: dict[int, int] = {}

    def observe(self, status: int, microseconds: float) -> None:
        self.requests += 1
        if 400 <= status < 500:
            self.errors_4xx += 1
        elif status >= 500:
            self.errors_5xx += 1
        self.latency_us_sum += microseconds
        bucket = latency_bucket(microseconds)
        self.latency_us[bucket] = self.latency_us.get(bucket, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors_4xx": self.errors_4xx,
            "errors_5xx": self.errors_5xx,
            "latency_us_sum": round(self.latency_us_sum, 1),
            "latency_us": {str(bucket): count for bucket, count in sorted(self.latency_us.items())},
        }


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
        self.variants: dict[str, VariantCounters] = {}

    def observe(self, status: int, seconds: float, variant: str | None = None, *, shadow: bool = False) -> None:
        """One invocation, answered with ``status`` after ``seconds`` by ``variant`` (a ``<fleet>/<name>`` key;
        None when no variant was reached). A ``shadow`` answer counts for its variant only."""
        millis = seconds * 1000.0
        with self._lock:
            if variant is not None:
                self.variants.setdefault(variant, VariantCounters()).observe(status, millis * 1000.0)
            if shadow:
                self._dirty = True
                return
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
                "variants": {key: counters.to_json() for key, counters in self.variants.items()},
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
