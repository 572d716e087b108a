"""The staging test's judgement: does the endpoint answer the registered test split as the package's metrics say?

The evaluation step measured the package's MSE on the test split; the staging endpoint is sent the same rows and
its answers are scored the same way. The two MSEs must agree within a relative tolerance, and the slowest
requests (p99 of the round trips a caller waits) must stay under a bound. Plain Python: the deploy job installs
boto3 and PyYAML only.

Defaults, and why:

- ``DEFAULT_MSE_TOLERANCE`` 1 %: the endpoint runs the package's own model on the same rows, so the two MSEs
  differ only by how predictions travel as CSV text (relative differences below 1e-6 in the suite). A wrong
  model, a shifted or reordered feature, or another container behind the endpoint moves the MSE by far more.
- ``DEFAULT_P99_LATENCY_MS`` 1,000 ms: a few rows cost an XGBoost endpoint a few milliseconds of model time; a
  runner in another region adds a round trip of about 100 ms and TLS. A bound of a second passes that and fails
  an endpoint that is throttled, swapping or timing out.
- ``DEFAULT_BATCH_ROWS`` 5: the test split's 626 rows become 126 requests, so p99 is the second slowest of
  them, not simply the slowest (with fewer than 100 requests, nearest-rank p99 is the maximum).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from showcase.errors import UsageError

DEFAULT_MSE_TOLERANCE = 0.01
DEFAULT_P99_LATENCY_MS = 1000.0
DEFAULT_BATCH_ROWS = 5


@dataclass(frozen=True)
class TestSplit:
    """The test split as the pipeline wrote it: the label first, then the features the endpoint receives."""

    __test__ = False  # not a pytest test class, whatever its name

    labels: list[float]
    rows: list[str]


def parse_test_split(text: str, source: str) -> TestSplit:
    """CSV rows ``label,feature,...`` without a header; UsageError naming ``source`` and the row when one is not."""
    labels: list[float] = []
    rows: list[str] = []
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = line.split(",")
        if width is None:
            width = len(fields)
        if len(fields) != width or width < 2:
            raise UsageError(
                f"{source} row {number} has {len(fields)} values, expected {width} (a label, then features)"
            )
        try:
            labels.append(float(fields[0]))
            [float(value) for value in fields[1:]]
        except ValueError:
            raise UsageError(f"{source} row {number} is not all numbers: {line[:80]!r}") from None
        rows.append(",".join(fields[1:]))
    if not rows:
        raise UsageError(f"{source} holds no rows; is it the test split the pipeline wrote?")
    return TestSplit(labels, rows)


def batches(rows: Sequence[str], size: int) -> list[list[str]]:
    if size < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {size}")
    return [list(rows[start : start + size]) for start in range(0, len(rows), size)]


def registered_mse(evaluation: Mapping[str, Any], source: str) -> float:
    """``regression_metrics.mse.value`` of an evaluation report (the package's ModelQuality statistics)."""
    try:
        value = float(evaluation["regression_metrics"]["mse"]["value"])
    except (KeyError, TypeError, ValueError):
        raise UsageError(
            f"{source} has no regression_metrics.mse.value; is it the pipeline's evaluation.json?"
        ) from None
    return value


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Verdict:
    rows: int
    requests: int
    mse: float
    registered_mse: float
    p99_ms: float
    tolerance: float
    p99_bound_ms: float

    @property
    def difference(self) -> float:
        """|measured - registered| / registered (the absolute difference when the registered MSE is 0)."""
        gap = abs(self.mse - self.registered_mse)
        return gap / self.registered_mse if self.registered_mse else gap

    @property
    def problems(self) -> list[str]:
        found = []
        if self.difference > self.tolerance:
            found.append(
                f"MSE {self.mse:.6g} on the test split differs from the registered {self.registered_mse:.6g} by "
                f"{self.difference:.2%}, more than the tolerance {self.tolerance:.2%}"
            )
        if self.p99_ms > self.p99_bound_ms:
            found.append(f"p99 latency {self.p99_ms:.1f} ms is over the bound {self.p99_bound_ms:g} ms")
        return found

    def summary(self) -> str:
        return (
            f"{self.rows} rows in {self.requests} requests: MSE {self.mse:.6g}, registered {self.registered_mse:.6g} "
            f"(difference {self.difference:.4%}, tolerance {self.tolerance:.2%}); p99 latency {self.p99_ms:.1f} ms "
            f"(bound {self.p99_bound_ms:g} ms)"
        )


def judge(
    split: TestSplit,
    predictions: Sequence[float],
    latencies_ms: Sequence[float],
    *,
    registered: float,
    tolerance: float = DEFAULT_MSE_TOLERANCE,
    p99_bound_ms: float = DEFAULT_P99_LATENCY_MS,
) -> Verdict:
    if len(predictions) != len(split.labels):
        raise UsageError(f"got {len(predictions)} predictions for {len(split.labels)} rows")
    squared = [(label - prediction) ** 2 for label, prediction in zip(split.labels, predictions, strict=True)]
    return Verdict(
        rows=len(squared),
        requests=len(latencies_ms),
        mse=math.fsum(squared) / len(squared),
        registered_mse=registered,
        p99_ms=nearest_rank(latencies_ms, 99),
        tolerance=tolerance,
        p99_bound_ms=p99_bound_ms,
    )
