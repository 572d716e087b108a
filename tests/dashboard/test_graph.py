"""The step graph: edges from the definition, the transitive reduction, layers, and the SVG."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from showcase.dashboard.graph import layers, reduced, render_svg, steps_of


def step(name: str, kind: str = "Processing", **arguments: Any) -> dict[str, Any]:
    return {"Name": name, "Type": kind, "Arguments": arguments}


DIAMOND_WITH_BRANCHES = {
    "Steps": [
        step("A"),
        step("B", In={"Get": "Steps.A.Out"}),
        {**step("C"), "DependsOn": ["A"]},
        step("D", X={"Std:Join": {"Values": [{"Get": "Steps.B.Out"}, {"Get": "Steps.C.Out"}, {"Get": "Steps.A.Out"}]}}),
        step(
            "Check",
            "Condition",
            Conditions=[{"LeftValue": {"Get": "Steps.D.Out"}}],
            IfSteps=[step("Yes", "RegisterModel", M={"Get": "Steps.D.Out"})],
            ElseSteps=[step("No", "Fail")],
        ),
    ]
}


def test_edges_come_from_references_depends_on_and_branches() -> None:
    nodes, deps = steps_of(DIAMOND_WITH_BRANCHES)
    assert deps == {
        "A": set(),
        "B": {"A"},
        "C": {"A"},
        "D": {"A", "B", "C"},
        "Check": {"D"},
        "Yes": {"Check", "D"},
        "No": {"Check"},
    }
    assert nodes["Yes"].branch == ("Check", "if") and nodes["No"].branch == ("Check", "else")


def test_implied_edges_are_not_drawn_and_layers_follow_the_longest_path() -> None:
    _, deps = steps_of(DIAMOND_WITH_BRANCHES)
    drawn = reduced(deps)
    assert drawn["D"] == {"B", "C"} and drawn["Yes"] == {"Check"}
    assert layers(drawn) == [["A"], ["B", "C"], ["D"], ["Check"], ["Yes", "No"]]


def test_a_cycle_still_draws() -> None:
    cyclic = {"Steps": [step("A", In={"Get": "Steps.B.Out"}), step("B", In={"Get": "Steps.A.Out"})]}
    _, deps = steps_of(cyclic)
    assert sorted(name for layer in layers(reduced(deps)) for name in layer) == ["A", "B"]


def test_the_svg_carries_statuses_links_and_branch_labels() -> None:
    svg = render_svg(DIAMOND_WITH_BRANCHES, {"A": "Succeeded", "No": "Failed"}, lambda name: f"/s/{name}")
    assert dict(re.findall(r'data-step="(\w+)" data-status="(\w+)"', svg)) == {
        "A": "Succeeded",
        "B": "NotStarted",
        "C": "NotStarted",
        "D": "NotStarted",
        "Check": "NotStarted",
        "Yes": "NotStarted",
        "No": "Failed",
    }
    assert 'href="/s/No"' in svg and ">if</text>" in svg and ">else</text>" in svg
    assert svg.count('class="edge"') == 7
    assert "http" not in svg


def test_names_are_escaped() -> None:
    svg = render_svg({"Steps": [step("<b>&")]}, {}, lambda name: "/s")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg


def test_an_empty_definition_draws_an_empty_graph() -> None:
    assert render_svg({}, {}, lambda name: "/").startswith("<svg")


def test_a_tuning_steps_trials_are_drawn_under_it_as_links() -> None:
    definition = {"Steps": [{"Name": "Tune", "Type": "Tuning", "Arguments": {}}]}
    trials = [(f"tune-{n:03d}", "Completed" if n % 3 else "Failed", f"validation:rmse {n}") for n in range(1, 30)]
    svg = render_svg(definition, {"Tune": "Succeeded"}, lambda name: f"/x/{name}", {"Tune": trials})
    drawn = re.findall(r'data-job="([^"]+)"', svg)
    assert drawn == [name for name, _, _ in trials[: len(drawn)]] and len(drawn) < len(trials)
    assert f">+{len(trials) - len(drawn)}<" in svg
    assert 'class="job status-Failed"' in svg and 'href="/x/tune-001"' in svg
    assert "<title>tune-002: Completed validation:rmse 2</title>" in svg


XML_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(XML_TEXT, min_size=1, max_size=4, unique=True), kind=XML_TEXT, status=XML_TEXT, tip=XML_TEXT)
def test_every_text_the_svg_embeds_is_escaped(names: list[str], kind: str, status: str, tip: str) -> None:
    """Whatever the names, types, statuses and trial details hold, the SVG parses as XML with only the graph's own
    elements and attributes, and each text reads back as it was given (the page inserts it as markup)."""
    definition = {"Steps": [step(name, kind) for name in names]}
    trials = {names[0]: [(name + "-trial", status, tip) for name in names]}
    svg = render_svg(definition, dict.fromkeys(names, status), lambda name: f"/s/{name}", trials)
    assert isinstance(svg, Markup)
    root = ElementTree.fromstring(svg)
    elements = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert elements <= {"svg", "defs", "marker", "path", "a", "g", "rect", "text", "title"}
    attributes = {name for element in root.iter() for name in element.attrib}
    assert not {name for name in attributes if name.lower().startswith("on")}
    steps_drawn = [element.attrib["data-step"] for element in root.iter() if "data-step" in element.attrib]
    assert sorted(steps_drawn) == sorted(names)
    texts = {element.text for element in root.iter() if element.text}
    assert set(names) <= texts and any(text.startswith(f"{kind} · {status}") for text in texts)
    assert {element.attrib["href"] for element in root.iter("a")} >= {f"/s/{name}" for name in names}
