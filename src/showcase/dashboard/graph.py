"""A pipeline's steps as a DAG drawn in SVG: layers by longest path from a root, left to right.

The edges come from the definition JSON itself (``DependsOn``, every ``{"Get": "Steps.X..."}`` reference,
and a condition step to the steps of its branches), so any pipeline draws, including ones the local
runtime cannot run. Each node carries ``data-step`` and a ``status-<Status>`` class the page's script updates.
Every text taken from the definition or the records (names, types, statuses, trial details, links) is escaped
where it is embedded, so the drawing is returned as ``Markup`` the page inserts as it is.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 168, 48, 56, 22, 12


@dataclass(frozen=True)
class Node:
    name: str
    type: str
    branch: tuple[str, str] | None
    """For a step inside a condition's branch: (condition step, ``"if"`` or ``"else"``)."""


def steps_of(definition: Mapping[str, Any]) -> tuple[dict[str, Node], dict[str, set[str]]]:
    """Every step (branch steps included) and the steps each depends on."""
    nodes: dict[str, Node] = {}
    deps: dict[str, set[str]] = {}

    def visit(raw: Any, parent: str | None, branch: str | None) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
            return
        name = raw["Name"]
        nodes[name] = Node(name, str(raw.get("Type", "")), (parent, branch) if parent and branch else None)
        arguments = raw.get("Arguments") if isinstance(raw.get("Arguments"), dict) else {}
        found = set(_references(arguments)) | {d for d in raw.get("DependsOn") or [] if isinstance(d, str)}
        if parent:
            found.add(parent)
        deps[name] = found
        for key, label in (("IfSteps", "if"), ("ElseSteps", "else")):
            for child in (arguments or {}).get(key) or []:
                visit(child, name, label)

    for step in definition.get("Steps") or []:
        visit(step, None, None)
    return nodes, {name: {d for d in found if d in nodes and d != name} for name, found in deps.items()}


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        target = value.get("Get")
        if isinstance(target, str) and target.startswith("Steps."):
            yield target.split(".")[1]
        for key, item in value.items():
            if key not in ("IfSteps", "ElseSteps"):
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def reduced(deps: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The transitive reduction: drop an edge a longer path already implies (A->C when A->B->C)."""
    memo: dict[str, set[str]] = {}

    def ancestors(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name not in memo:
            found: set[str] = set()
            for parent in deps[name] - seen:
                found |= {parent} | ancestors(parent, seen | {name})
            memo[name] = found
        return memo[name]

    return {
        name: {p for p in parents if not any(p in ancestors(q) for q in parents - {p})}
        for name, parents in deps.items()
    }


def layers(deps: Mapping[str, set[str]]) -> list[list[str]]:
    """Steps grouped by the length of the longest dependency path leading to them (cycles broken)."""
    depth: dict[str, int] = {}

    def depth_of(name: str, seen: frozenset[str]) -> int:
        if name not in depth:
            parents = [p for p in deps[name] if p not in seen]
            depth[name] = 1 + max((depth_of(p, seen | {name}) for p in parents), default=-1)
        return depth[name]

    grouped: dict[int, list[str]] = {}
    for name in deps:
        grouped.setdefault(depth_of(name, frozenset()), []).append(name)
    return [grouped[level] for level in sorted(grouped)]


JOB = 8
"""A tuning step's trials are drawn as squares of this size under its node, one row of them per step."""
JOBS_PER_ROW = NODE_W // (JOB + 2)


def render_svg(
    definition: Mapping[str, Any],
    statuses: Mapping[str, str],
    href: Callable[[str], str],
    jobs: Mapping[str, Sequence[tuple[str, str, str]]] | None = None,
) -> Markup:
    """The DAG as an inline ``<svg>``; steps without a status are drawn ``NotStarted``.

    ``jobs`` maps a step to the jobs it ran — a Tuning step's trials as (name, status, tooltip) — drawn as
    small squares under its node (one row; ``+n`` when there are more), each a link to the job.
    """
    nodes, all_deps = steps_of(definition)
    deps = reduced(all_deps)
    grouped = layers(deps)
    tallest = max((len(layer) for layer in grouped), default=1)
    height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y
    width = PAD * 2 + len(grouped) * NODE_W + max(len(grouped) - 1, 0) * GAP_X
    where: dict[str, tuple[float, float]] = {}
    for column, layer in enumerate(grouped):
        offset = (height - (len(layer) * NODE_H + (len(layer) - 1) * GAP_Y)) / 2
        for row, name in enumerate(layer):
            where[name] = (PAD + column * (NODE_W + GAP_X), offset + row * (NODE_H + GAP_Y))
    edges = []
    for name, parents in deps.items():
        x2, y2 = where[name][0], where[name][1] + NODE_H / 2
        for parent in sorted(parents):
            x1, y1 = where[parent][0] + NODE_W, where[parent][1] + NODE_H / 2
            middle = (x1 + x2) / 2
            edges.append(
                f'<path class="edge" d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} '
                f'{x2 - 4:.0f},{y2:.0f}" marker-end="url(#arrow)"/>'
            )
            branch = nodes[name].branch
            if branch and branch[0] == parent:
                label_y = (y1 + y2) / 2 - 4
                edges.append(f'<text class="edge-label" x="{middle:.0f}" y="{label_y:.0f}">{branch[1]}</text>')
    boxes = [_node(nodes[name], statuses.get(name, "NotStarted"), href(name), *where[name]) for name in nodes]
    for name, ran in (jobs or {}).items():
        if name in where:
            boxes.append(_jobs(ran, href, *where[name]))
    return Markup(
        f'<svg class="dag" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="step graph"><defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="8" '
        f'markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrow"/></marker></defs>'
        f"{''.join(edges)}{''.join(boxes)}</svg>"
    )


def _node(node: Node, status: str, link: str, x: float, y: float) -> str:
    name, label = html.escape(node.name), html.escape(status)
    return (
        f'<a href="{html.escape(link)}"><g class="node status-{label}" data-step="{name}" data-status="{label}">'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="8"/>'
        f'<text class="node-name" x="{x + 10:.0f}" y="{y + 20:.0f}">{name}</text>'
        f'<text class="node-status" x="{x + 10:.0f}" y="{y + 38:.0f}">{html.escape(node.type)} · {label}</text>'
        f"</g></a>"
    )


def _jobs(jobs: Sequence[tuple[str, str, str]], href: Callable[[str], str], x: float, y: float) -> str:
    shown = jobs[: JOBS_PER_ROW - 1] if len(jobs) > JOBS_PER_ROW else jobs
    top = y + NODE_H + 4
    squares = [
        f'<a href="{html.escape(href(name))}"><rect class="job status-{html.escape(status)}" '
        f'data-job="{html.escape(name)}" x="{x + i * (JOB + 2):.0f}" y="{top:.0f}" width="{JOB}" height="{JOB}" rx="2">'
        f"<title>{html.escape(name)}: {html.escape(status)} {html.escape(tip)}</title></rect></a>"
        for i, (name, status, tip) in enumerate(shown)
    ]
    if len(shown) < len(jobs):
        more_x = x + len(shown) * (JOB + 2)
        squares.append(
            f'<text class="node-status" x="{more_x:.0f}" y="{top + JOB:.0f}">+{len(jobs) - len(shown)}</text>'
        )
    return f'<g class="jobs">{"".join(squares)}</g>'
