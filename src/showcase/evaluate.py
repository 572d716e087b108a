"""Evaluate the trained XGBoost model on the test split and write evaluation.json.

Runs as a SageMaker Processing job on the XGBoost image, and unchanged in the local runtime.
The model is read from model.tar.gz without extracting the archive to disk: only the regular
file ``xgboost-model`` is read, and it is loaded with ``Booster.load_model`` (never unpickled).

evaluation.json holds ``regression_metrics`` with ``mse``, ``rmse``, ``mae`` and ``r2``, each
``{"value": ...}``, with the ``standard_deviation`` of the per-row squared or absolute error
for ``mse`` and ``mae``, in the shape
SageMaker Model Registry shows as model quality statistics.

Beside it, ``report.html``: the metrics and three plots (predicted against actual rings, the residual
distribution, the mean absolute error by ring count) drawn as inline SVG with plain Python, so the report
needs nothing the XGBoost image may lack and loads no external resource. SageMaker ships this file alone
as the job's code, so the plotting lives here rather than in a module of its own.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

MODEL_FILE = "xgboost-model"
MAX_MODEL_BYTES = 4 * 1024**3  # what the model may expand to; a gzip of zeros shrinks about 1000x
MAX_SCATTER_POINTS = 2000  # test rows drawn in the report's scatter plot; every row counts in the metrics


class EvaluationError(Exception):
    """The model or the test data cannot be used; the message says which and why."""


def load_booster(model_dir: Path) -> xgboost.Booster:
    archives = sorted(model_dir.glob("*.tar.gz"))
    if len(archives) != 1:
        raise EvaluationError(f"expected one model archive in {model_dir}, found {len(archives)}")
    try:
        with tarfile.open(archives[0], "r:gz") as archive:
            member = archive.getmember(MODEL_FILE)
            if not member.isfile():
                raise EvaluationError(f"{MODEL_FILE} in {archives[0].name} is not a regular file")
            if member.size > MAX_MODEL_BYTES:
                raise EvaluationError(
                    f"{MODEL_FILE} in {archives[0].name} is {member.size:,} bytes, more than {MAX_MODEL_BYTES:,}"
                )
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file always has content
            payload = bytearray(handle.read())
    except KeyError:
        raise EvaluationError(f"{archives[0].name} holds no {MODEL_FILE}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EvaluationError(f"{archives[0].name} is not a readable tar.gz archive: {exc}") from None
    booster = xgboost.Booster()
    try:
        booster.load_model(payload)
    except xgboost.core.XGBoostError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise EvaluationError(f"XGBoost cannot load {MODEL_FILE}: {first_line}") from None
    return booster


def load_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels (float64, for the metrics) and features (float32, what XGBoost predicts on), parsed once.

    Parsed straight to float32: pandas rounds each parsed double to float32, as XGBoost would on its own,
    so the predictions are the same as from a float64 reading, at half the memory.
    """
    files = sorted(p for p in test_dir.rglob("*") if p.is_file())
    if not files:
        raise EvaluationError(f"no test data in {test_dir}")
    frames = [pd.read_csv(p, header=None, dtype=np.float32) for p in files]
    table = (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)).to_numpy()
    return table[:, 0].astype(np.float64), table[:, 1:]


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    errors = actual - predicted
    squared = errors**2
    absolute = np.abs(errors)
    total = float(((actual - actual.mean()) ** 2).sum())
    return {
        "mse": {"value": float(squared.mean()), "standard_deviation": float(squared.std())},
        "rmse": {"value": float(np.sqrt(squared.mean()))},
        "mae": {"value": float(absolute.mean()), "standard_deviation": float(absolute.std())},
        "r2": {"value": 1.0 - float(squared.sum()) / total if total else 0.0},
    }


# -- the report: inline SVG, no dependency ---------------------------------------------------------------

WIDTH, HEIGHT, MARGIN = 440, 300, 44
INK, ACCENT, MUTED = "#1f2933", "#2563eb", "#9aa5b1"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    span = high - low or 1.0
    raw = span / count
    magnitude = 10 ** np.floor(np.log10(raw))
    step = float(min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw))
    first = np.ceil(low / step) * step
    return [round(float(v), 10) for v in np.arange(first, high + step * 1e-9, step)]


class _Axes:
    """Maps data coordinates to the SVG canvas and draws the frame, ticks and labels."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range

    def x(self, value: float) -> float:
        return MARGIN + (value - self.x0) / ((self.x1 - self.x0) or 1) * (WIDTH - 1.5 * MARGIN)

    def y(self, value: float) -> float:
        return HEIGHT - MARGIN - (value - self.y0) / ((self.y1 - self.y0) or 1) * (HEIGHT - 1.5 * MARGIN)

    def frame(self, x_label: str, y_label: str) -> list[str]:
        parts = [
            f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN / 2}" y2="{HEIGHT - MARGIN}" '
            f'stroke="{INK}"/>',
            f'<line x1="{MARGIN}" y1="{MARGIN / 2}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="{INK}"/>',
        ]
        for tick in _ticks(self.x0, self.x1):
            if self.x0 <= tick <= self.x1:
                parts.append(
                    f'<text x="{self.x(tick):.1f}" y="{HEIGHT - MARGIN + 14}" text-anchor="middle">{tick:g}</text>'
                )
        for tick in _ticks(self.y0, self.y1):
            if self.y0 <= tick <= self.y1:
                parts.append(f'<text x="{MARGIN - 6}" y="{self.y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">{html.escape(x_label)}</text>')
        parts.append(
            f'<text x="12" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 12 {HEIGHT / 2})">'
            f"{html.escape(y_label)}</text>"
        )
        return parts


def _svg(title: str, parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="11" fill="{INK}">{body}</svg>'
    )


def scatter_sample(rows: int, limit: int = MAX_SCATTER_POINTS) -> np.ndarray:
    """The rows the scatter plot draws: all of them, or ``limit`` drawn at random with a fixed seed.

    A browser cannot usefully draw a million circles; the metrics and the other two plots use every row.
    """
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(0).choice(rows, size=limit, replace=False))


def scatter_svg(actual: np.ndarray, predicted: np.ndarray) -> str:
    """Predicted against actual rings, with the line where they are equal."""
    low = float(min(actual.min(), predicted.min(), 0))
    high = float(max(actual.max(), predicted.max())) + 1
    axes = _Axes((low, high), (low, high))
    parts = axes.frame("actual rings", "predicted rings")
    parts.append(
        f'<line x1="{axes.x(low):.1f}" y1="{axes.y(low):.1f}" x2="{axes.x(high):.1f}" y2="{axes.y(high):.1f}" '
        f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
    )
    drawn = scatter_sample(len(actual))
    circles = "".join(
        f'<circle cx="{axes.x(a):.1f}" cy="{axes.y(p):.1f}" r="2.2"/>'
        for a, p in zip(actual[drawn].tolist(), predicted[drawn].tolist(), strict=True)
    )
    parts.append(f'<g fill="{ACCENT}" fill-opacity="0.45">{circles}</g>')
    return _svg("predicted against actual rings", parts)


def _bars(axes: _Axes, lefts: list[float], width: float, heights: list[float]) -> list[str]:
    parts = []
    for left, height in zip(lefts, heights, strict=True):
        bar_width = max(axes.x(left + width) - axes.x(left) - 1, 1)
        bar_height = max(axes.y(0) - axes.y(height), 0)
        parts.append(
            f'<rect x="{axes.x(left):.1f}" y="{axes.y(height):.1f}" width="{bar_width:.1f}" '
            f'height="{bar_height:.1f}" fill="{ACCENT}"/>'
        )
    return parts


def residuals_svg(actual: np.ndarray, predicted: np.ndarray, bins: int = 30) -> str:
    """A histogram of actual minus predicted rings."""
    counts, edges = np.histogram(actual - predicted, bins=bins)
    axes = _Axes((float(edges[0]), float(edges[-1])), (0.0, float(counts.max()) * 1.05 or 1.0))
    parts = axes.frame("residual (actual - predicted rings)", "test rows")
    parts += _bars(axes, edges[:-1].tolist(), float(edges[1] - edges[0]), counts.astype(float).tolist())
    parts.append(
        f'<line x1="{axes.x(0):.1f}" y1="{MARGIN / 2}" x2="{axes.x(0):.1f}" y2="{HEIGHT - MARGIN}" '
        f'stroke="{INK}" stroke-dasharray="3 3"/>'
    )
    return _svg("residual distribution", parts)


def error_by_rings(actual: np.ndarray, predicted: np.ndarray) -> list[tuple[int, int, float]]:
    """``(ring count, test rows, mean absolute error)`` for each actual ring count."""
    rings = np.rint(actual).astype(int)
    absolute = np.abs(actual - predicted)
    return [(int(r), int((rings == r).sum()), float(absolute[rings == r].mean())) for r in np.unique(rings)]


def error_by_rings_svg(actual: np.ndarray, predicted: np.ndarray) -> str:
    rows = error_by_rings(actual, predicted)
    rings = [r for r, _, _ in rows]
    axes = _Axes((min(rings) - 0.5, max(rings) + 0.5), (0.0, max(e for _, _, e in rows) * 1.05 or 1.0))
    parts = axes.frame("actual rings", "mean absolute error (rings)")
    parts += _bars(axes, [r - 0.4 for r in rings], 0.8, [e for _, _, e in rows])
    return _svg("mean absolute error by ring count", parts)


REPORT_STYLE = (
    "body{font-family:sans-serif;color:#1f2933;max-width:960px;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #e4e7eb;text-align:right}"
    "th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:0 1rem 1rem 0}"
    "figcaption{font-weight:bold;margin-bottom:.25rem}"
)


def _maybe(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _scatter_title(rows: int) -> str:
    drawn = len(scatter_sample(rows))
    return "Predicted against actual rings" + ("" if drawn == rows else f" ({drawn:,} of {rows:,} rows, at random)")


def report_html(actual: np.ndarray, predicted: np.ndarray, metrics: dict[str, dict[str, float]]) -> str:
    """The evaluation as one self-contained HTML page: metrics, then the three plots inline."""
    metric_rows = "".join(
        f"<tr><td>{name}</td><td>{values['value']:.4f}</td><td>{_maybe(values.get('standard_deviation'))}</td></tr>"
        for name, values in metrics.items()
    )
    figures = (
        (_scatter_title(len(actual)), scatter_svg(actual, predicted)),
        ("Residual distribution", residuals_svg(actual, predicted)),
        ("Mean absolute error by ring count", error_by_rings_svg(actual, predicted)),
    )
    figure_html = "".join(f"<figure><figcaption>{t}</figcaption>{svg}</figure>" for t, svg in figures)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Model evaluation</title>'
        f"<style>{REPORT_STYLE}</style></head><body><h1>Model evaluation</h1>"
        f"<p>{len(actual)} test rows.</p><table><thead><tr><th>metric</th><th>value</th>"
        f"<th>standard deviation</th></tr></thead><tbody>{metric_rows}</tbody></table>"
        f"{figure_html}</body></html>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="container directory holding model.tar.gz")
    parser.add_argument("--test-dir", required=True, help="container directory holding the test CSV")
    parser.add_argument("--output-dir", required=True, help="container directory for evaluation.json")
    args = parser.parse_args(argv)

    try:
        booster = load_booster(Path(args.model_dir))
        labels, features = load_test(Path(args.test_dir))
    except EvaluationError as exc:
        print(f"EvaluateModel: {exc}", file=sys.stderr)
        return 1
    predictions = booster.inplace_predict(features)
    metrics = regression_metrics(labels, predictions)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {"regression_metrics": metrics, "test_rows": len(labels)}
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.html").write_text(report_html(labels, predictions, metrics), encoding="utf-8")
    print(
        f"EvaluateModel: {len(labels)} test rows, mse {metrics['mse']['value']:.4f}, "
        f"rmse {metrics['rmse']['value']:.4f}, mae {metrics['mae']['value']:.4f}, r2 {metrics['r2']['value']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
