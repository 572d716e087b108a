"""A monitoring run as one self-contained HTML page: the verdict, the violations, and per feature the
baseline's distribution against the captured traffic's, drawn as inline SVG (no script, no external resource)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from showcase.monitoring.statistics import sketch_items

WIDTH, HEIGHT, MARGIN = 360, 200, 36
INK, BASELINE, CURRENT = "#1f2933", "#9aa5b1", "#2563eb"
BINS = 24


def _histogram(sketch: tuple[np.ndarray, np.ndarray], edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(sketch[0], bins=edges, weights=sketch[1])
    total = counts.sum()
    return counts / total if total else counts


def _step_path(edges: np.ndarray, shares: np.ndarray, x: Any, y: Any) -> str:
    points = [f"M{x(edges[0]):.1f},{y(0.0):.1f}"]
    for left, right, share in zip(edges[:-1], edges[1:], shares, strict=True):
        points.append(f"L{x(left):.1f},{y(share):.1f}L{x(right):.1f},{y(share):.1f}")
    points.append(f"L{x(edges[-1]):.1f},{y(0.0):.1f}")
    return "".join(points)


def feature_svg(name: str, baseline: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    """The share of values per bin, baseline (grey, filled) against current (blue line), on shared bins."""
    sketches = [s for s in (sketch_items(baseline or {}), sketch_items(current or {})) if s is not None]
    if not sketches:
        return f'<p class="muted">{html.escape(name)}: no numeric distribution to draw</p>'
    low = min(float(s[0][0]) for s in sketches)
    high = max(float(s[0][-1]) for s in sketches)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, BINS + 1)
    base = _histogram(sketch_items(baseline or {}) or (np.empty(0), np.empty(0)), edges)
    ours = _histogram(sketch_items(current or {}) or (np.empty(0), np.empty(0)), edges)
    top = float(max(base.max(initial=0), ours.max(initial=0))) * 1.1 or 1.0

    def x(value: float) -> float:
        return MARGIN + (value - low) / (high - low) * (WIDTH - 1.5 * MARGIN)

    def y(share: float) -> float:
        return HEIGHT - MARGIN + 10 - share / top * (HEIGHT - 1.5 * MARGIN)

    parts = [
        f'<line x1="{MARGIN}" y1="{y(0):.1f}" x2="{WIDTH - MARGIN / 2}" y2="{y(0):.1f}" stroke="{INK}"/>',
        f'<text x="{x(low):.1f}" y="{y(0) + 13:.1f}" text-anchor="start">{low:.3g}</text>',
        f'<text x="{x(high):.1f}" y="{y(0) + 13:.1f}" text-anchor="end">{high:.3g}</text>',
        f'<text x="{MARGIN - 4}" y="{y(top / 1.1) + 4:.1f}" text-anchor="end">{top / 1.1:.0%}</text>',
    ]
    if base.any():
        parts.append(f'<path d="{_step_path(edges, base, x, y)}Z" fill="{BASELINE}" fill-opacity="0.5"/>')
    if ours.any():
        parts.append(f'<path d="{_step_path(edges, ours, x, y)}" fill="none" stroke="{CURRENT}" stroke-width="1.6"/>')
    parts.append(
        f'<text x="{WIDTH - MARGIN / 2}" y="14" text-anchor="end"><tspan fill="{BASELINE}">■ baseline</tspan> '
        f'<tspan fill="{CURRENT}">— captured</tspan></text>'
        f'<text x="{MARGIN}" y="14" font-weight="bold">{html.escape(name)}</text>'
    )
    label = f"{name}: baseline against captured distribution"
    return (
        f'<svg role="img" aria-label="{html.escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="11" fill="{INK}">{"".join(parts)}</svg>'
    )


def feature_plots(baseline: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, str]]:
    """``(feature name, svg)`` for every feature of the baseline or the current statistics, baseline order first."""
    ours = {feature["name"]: feature for feature in current.get("features", [])}
    theirs = {feature["name"]: feature for feature in baseline.get("features", [])}
    names = [*theirs, *(name for name in ours if name not in theirs)]
    return [(name, feature_svg(name, theirs.get(name), ours.get(name))) for name in names]


STYLE = (
    "body{font-family:sans-serif;color:#1f2933;max-width:1160px;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #e4e7eb;text-align:left}"
    "figure{display:inline-block;margin:0 .5rem .5rem 0}.ok{color:#047857}.bad{color:#b91c1c}.muted{color:#7b8794}"
)


def report_html(run: dict[str, Any], baseline: dict[str, Any], current: dict[str, Any]) -> str:
    violations = run.get("violations") or []
    verdict = (
        '<p class="ok">no violations</p>'
        if not violations
        else f'<p class="bad">{len(violations)} violation{"s" if len(violations) != 1 else ""}</p>'
    )
    rows = "".join(
        f"<tr><td>{html.escape(v['feature_name'])}</td><td>{html.escape(v['constraint_check_type'])}</td>"
        f"<td>{html.escape(v['description'])}</td></tr>"
        for v in violations
    )
    table = (
        f"<table><thead><tr><th>feature</th><th>check</th><th>description</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
        if rows
        else ""
    )
    malformed = run.get("malformed_lines", 0)
    facts = (
        f"<p>Endpoint <b>{html.escape(run['endpoint_name'])}</b>, model package "
        f"{html.escape(run.get('model_package_arn', ''))}. {run.get('records', 0)} captured requests, "
        f"{run.get('rows', 0)} rows, from {html.escape(str(run.get('since') or 'the first capture'))} to "
        f"{html.escape(run.get('until', ''))}; {malformed} malformed capture line{'s' if malformed != 1 else ''}.</p>"
    )
    figures = "".join(f"<figure>{svg}</figure>" for _, svg in feature_plots(baseline, current))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data quality monitoring</title>'
        f"<style>{STYLE}</style></head><body><h1>Data quality: {html.escape(run['run_id'])}</h1>"
        f"{verdict}{facts}{table}<h2>Distributions</h2>{figures}</body></html>\n"
    )


def quality_svg(points: list[tuple[str, float]], metric: str, threshold: float | None = None) -> str:
    """A model-quality metric over runs, oldest left: ``(run id, value)`` points, and the constraint's threshold."""
    if not points:
        return f'<p class="muted">no {html.escape(metric)} measured yet</p>'
    values = [value for _, value in points] + ([threshold] if threshold is not None else [])
    low, high = min(0.0, *values), max(values) * 1.1 or 1.0

    def x(index: int) -> float:
        return MARGIN + (index / max(len(points) - 1, 1)) * (WIDTH - 1.5 * MARGIN)

    def y(value: float) -> float:
        return HEIGHT - MARGIN + 10 - (value - low) / (high - low) * (HEIGHT - 1.5 * MARGIN)

    line = " ".join(f"{x(i):.1f},{y(value):.1f}" for i, (_, value) in enumerate(points))
    parts = [
        f'<line x1="{MARGIN}" y1="{y(low):.1f}" x2="{WIDTH - MARGIN / 2}" y2="{y(low):.1f}" stroke="{INK}"/>',
        f'<text x="{MARGIN - 4}" y="{y(high / 1.1) + 4:.1f}" text-anchor="end">{high / 1.1:.3g}</text>',
        f'<text x="{MARGIN - 4}" y="{y(low) + 4:.1f}" text-anchor="end">{low:.3g}</text>',
        f'<polyline points="{line}" fill="none" stroke="{CURRENT}" stroke-width="1.6"/>',
        *(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{CURRENT}"/>'
            for i, (_, value) in enumerate(points)
        ),
        f'<text x="{MARGIN}" y="14" font-weight="bold">{html.escape(metric)} per run</text>',
        f'<text x="{x(0):.1f}" y="{y(low) + 13:.1f}" text-anchor="start">{html.escape(points[0][0][:10])}</text>',
        f'<text x="{x(len(points) - 1):.1f}" y="{y(low) + 13:.1f}" text-anchor="end">'
        f"{html.escape(points[-1][0][:10])}</text>",
    ]
    if threshold is not None:
        parts.append(
            f'<line x1="{MARGIN}" y1="{y(threshold):.1f}" x2="{WIDTH - MARGIN / 2}" y2="{y(threshold):.1f}" '
            f'stroke="{BASELINE}" stroke-dasharray="4 3"/>'
            f'<text x="{WIDTH - MARGIN / 2}" y="{y(threshold) - 3:.1f}" text-anchor="end" fill="{BASELINE}">'
            f"threshold {threshold:.3g}</text>"
        )
    label = f"{metric} of each model-quality run"
    return (
        f'<svg role="img" aria-label="{html.escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="11" fill="{INK}">{"".join(parts)}</svg>'
    )
