"""The dashboard against hostile data and hostile requests, in-process (Starlette's TestClient).

Data: a Source whose every text (step and group names, statuses, parameters, failure reasons, descriptions,
lineage, captures, monitoring) tries to break out of the attribute or element it is shown in. SageMaker
executions (``--aws``) and records written before names were checked can hold any of these, so every page must
show them as text. Requests: another name in Host (DNS rebinding), framing, and version numbers no package has.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from showcase.dashboard.app import create_app
from showcase.dashboard.source import (
    Capture,
    Endpoint,
    Execution,
    Group,
    Monitoring,
    MonitoringRun,
    NotFound,
    Package,
)
from showcase.monitoring.report import feature_svg
from showcase.registry.approval import Decision
from showcase.reporting import StepReport
from tests.dashboard.conftest import GROUP, ORIGIN, State
from tests.dashboard.test_app import fresh_package

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "showcase" / "dashboard" / "templates"
ATTRIBUTE = 'x" autofocus onfocus="document.title=\'pwned\'" y="'
ELEMENT = "</code></td><img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
HOSTILE = ATTRIBUTE + ELEMENT
"""Breaks out of a double-quoted attribute, then out of an element: what a name, status or reason may hold."""
MOMENT = datetime(2026, 1, 1, tzinfo=timezone.utc)
OUR_SCRIPTS = ({"src": "/static/dashboard.js", "defer": None}, {"type": "application/json", "id": "statuses"})


class HostileSource:
    """Every page's data, each text hostile. Names in URLs are taken as given (``{HOSTILE}`` included)."""

    title = HOSTILE

    def _steps(self) -> tuple[StepReport, ...]:
        trial = StepReport(HOSTILE + "-trial", HOSTILE, "Training", MOMENT, MOMENT, HOSTILE, detail=HOSTILE)
        return (
            StepReport(HOSTILE, HOSTILE, HOSTILE, MOMENT, MOMENT, HOSTILE),
            StepReport("Tune", "Succeeded", "Tuning", MOMENT, MOMENT, None, jobs=(trial,)),
        )

    def execution(self, execution_id: str) -> Execution:
        if execution_id == "missing":
            raise NotFound(f"no execution {HOSTILE!r}")
        definition = {
            "Parameters": [{"Name": HOSTILE, "Type": "String", "DefaultValue": "a"}],
            "Steps": [{"Name": HOSTILE, "Type": HOSTILE, "Arguments": {}}, {"Name": "Tune", "Type": "Tuning"}],
        }
        return Execution(
            HOSTILE, HOSTILE, "Failed", MOMENT, MOMENT, HOSTILE, {HOSTILE: HOSTILE}, self._steps(), definition
        )

    def executions(self) -> list[Execution]:
        return [self.execution(HOSTILE)]

    def step_log(self, execution_id: str, step_name: str) -> str:
        return HOSTILE

    def retry(self, execution_id: str) -> None:
        raise NotImplementedError

    def waiting_callback(self, execution_id: str, step_name: str) -> dict[str, Any]:
        return {"CallbackToken": HOSTILE, "SqsQueueUrl": HOSTILE, "OutputParameters": [HOSTILE]}

    def complete_callback(self, execution_id: str, step: str, outputs: dict[str, str], failure: str | None) -> None:
        raise NotImplementedError

    def groups(self) -> list[Group]:
        return [Group(HOSTILE, MOMENT, 2, 1)]

    def packages(self, group: str) -> list[Package]:
        return [self.package(group, 2), self.package(group, 1)]

    def package(self, group: str, version: int) -> Package:
        lineage = {
            "PipelineName": HOSTILE,
            "PipelineExecutionId": HOSTILE,
            "Parameters": {HOSTILE: HOSTILE},
            "Steps": [{"Name": HOSTILE, "Inputs": [{"Uri": HOSTILE, "Sha256": HOSTILE}], "Code": []}],
            "Artifacts": [{"Field": HOSTILE, "Uri": HOSTILE, "Sha256": HOSTILE}],
        }
        metrics = {"regression_metrics": {"mse": {"value": 1.0}}}
        return Package(
            group, version, HOSTILE, "Rejected", MOMENT, metrics, HOSTILE, HOSTILE, HOSTILE, HOSTILE, {}, lineage
        )

    def report(self, group: str, version: int) -> bytes:
        return b"<h1>report</h1>"

    def set_status(self, group: str, version: int, status: str, description: str, *, force: bool) -> Decision:
        return Decision(HOSTILE, HOSTILE, HOSTILE)

    def endpoints(self) -> list[Endpoint]:
        return [self.endpoint(HOSTILE)]

    def endpoint(self, name: str) -> Endpoint:
        run = MonitoringRun(HOSTILE, HOSTILE, HOSTILE, HOSTILE, 1, 0, ({"feature_name": HOSTILE,
                            "constraint_check_type": HOSTILE, "description": HOSTILE},), True)  # fmt: skip
        plots = ((HOSTILE, feature_svg(HOSTILE, None, None)),)
        return Endpoint(
            HOSTILE, HOSTILE, HOSTILE, f"{HOSTILE}/1", 1, 1, 1.0, 2.0, {HOSTILE: 1}, 1, HOSTILE,
            (Capture(HOSTILE, HOSTILE, HOSTILE),), Monitoring((run,), plots),
        )  # fmt: skip

    def monitoring_report(self, name: str, run_id: str) -> bytes:
        return b"<h1>report</h1>"


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and its text, as a browser's parser splits them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def injected(page: str) -> list[str]:
    """What in ``page`` is markup the page's own template did not write: handlers, images, other scripts."""
    parser = Elements()
    parser.feed(page)
    found = []
    for tag, attrs in parser.tags:
        found += [f"<{tag} {name}=...>" for name in attrs if name.startswith("on") or name == "autofocus"]
        if tag == "img" or (tag == "script" and attrs not in OUR_SCRIPTS):
            found.append(f"<{tag} {attrs}>")
    return found


@pytest.fixture()
def hostile() -> TestClient:
    return TestClient(create_app(HostileSource()), base_url=ORIGIN)  # type: ignore[arg-type]


HOSTILE_PAGES = [
    "/executions",
    "/executions/any",
    "/executions/any/steps/Tune",
    "/executions/missing",
    "/models",
    "/models/g/1",
    "/models/compare?a=g/1&b=g/2",
    "/endpoints",
    "/endpoints/any",
]


@pytest.mark.parametrize("url", HOSTILE_PAGES)
def test_hostile_data_is_shown_as_text_on_every_page(hostile: TestClient, url: str) -> None:
    response = hostile.get(url)
    assert response.status_code in (200, 404), response.text[:300]
    assert injected(response.text) == []
    parser = Elements()
    parser.feed(response.text)
    assert "<img src=x onerror=" in "".join(parser.text)  # shown, as text


def test_the_confirmation_page_shows_a_hostile_reason_as_text(hostile: TestClient) -> None:
    response = hostile.post("/models/g/1/decide", data={"action": "approve", "description": HOSTILE},
                            headers={"origin": ORIGIN})  # fmt: skip
    assert response.status_code == 200 and 'id="confirm"' in response.text
    assert injected(response.text) == []


def test_a_hostile_step_name_stays_inside_its_badge_attribute(hostile: TestClient) -> None:
    """The attribute the page's script finds a step's badge by holds the whole name, quotes and all."""
    parser = Elements()
    parser.feed(hostile.get("/executions/any").text)
    badges = [attrs for tag, attrs in parser.tags if tag == "span" and "data-step-status" in attrs]
    assert [attrs["data-step-status"] for attrs in badges] == [HOSTILE, "Tune"]
    assert all(set(attrs) == {"class", "data-step-status"} for attrs in badges)


def test_a_monitoring_plot_embeds_a_hostile_feature_name_as_text() -> None:
    """The endpoint page inserts the plots as markup: ``feature_svg`` must escape the one text it embeds."""
    feature = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": [[1.0, 2.0, 3.0]]}}}}}
    for baseline, current in ((feature, feature), (None, None)):
        svg = feature_svg(HOSTILE, baseline, current)
        assert injected(svg) == []
        parser = Elements()
        parser.feed(svg)
        assert HOSTILE in "".join(parser.text)
        assert all(HOSTILE in (attrs.get("aria-label") or HOSTILE) for _, attrs in parser.tags)


def test_no_template_marks_text_safe() -> None:
    """Markup from data reaches a page only as ``Markup`` built by escaping code (the graph, the plots)."""
    marked = [path.name for path in TEMPLATES.glob("*.html") if "|safe" in path.read_text().replace(" ", "")]
    assert marked == []


# -- requests ------------------------------------------------------------------------------------------------


def test_a_post_under_another_host_name_is_refused(client: TestClient, state: State) -> None:
    """DNS rebinding: the attacker's page sends its own name as Host and as Origin, which match each other."""
    version = fresh_package(state, "Approved")
    attacker = "http://rebind.attacker.example:8765"
    response = client.post(
        f"/models/{GROUP}/{version}/decide",
        data={"action": "reject", "confirmed": "yes"},
        headers={"host": "rebind.attacker.example:8765", "origin": attacker},
    )
    assert response.status_code == 400
    assert "not to the Host 'rebind.attacker.example'" in response.text and "--allowed-host" in response.text
    assert state.status(version) == "Approved"


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost.", "127.0.0.2", "[::2]", ""])
def test_a_get_under_another_host_name_is_refused(client: TestClient, host: str) -> None:
    response = client.get("/executions", headers={"host": host})
    assert response.status_code == 400 and "Host" in response.text
    assert "\n" not in response.text.strip()  # one line


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:9", "localhost:8765", "LOCALHOST", "[::1]:8765"])
def test_the_loopback_names_are_answered_on_any_port(client: TestClient, host: str) -> None:
    assert client.get("/executions", headers={"host": host}).status_code == 200


def test_an_allowed_host_is_answered(dashboard_state: State) -> None:
    from showcase.dashboard.local_source import LocalSource

    app = create_app(LocalSource(dashboard_state.settings), allowed_hosts=["127.0.0.1", "dash.lan"])
    client = TestClient(app, base_url="http://dash.lan:8765")
    assert client.get("/executions").status_code == 200
    assert client.get("/executions", headers={"host": "localhost"}).status_code == 400


SECURITY = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    "url",
    ["/executions", "/api/executions", "/static/dashboard.js", "/models", "/no/such/page", f"/models/{GROUP}/999"],
)
def test_every_response_forbids_framing_and_sniffing(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert {name: response.headers.get(name) for name in SECURITY} == SECURITY
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'self'" in policy


def test_a_refused_host_gets_the_headers_too(client: TestClient) -> None:
    response = client.get("/executions", headers={"host": "evil.example"})
    assert response.status_code == 400 and response.headers["x-frame-options"] == "DENY"


def test_a_report_may_be_framed_by_the_dashboard_only(client: TestClient) -> None:
    """The compare page frames two reports: same origin only, and still no script in them."""
    response = client.get(f"/models/{GROUP}/1/report")
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "default-src 'none'" in policy and "script" not in policy


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/models/{GROUP}/9223372036854775808"),
        ("get", f"/models/{GROUP}/18446744073709551617"),
        ("get", f"/models/{GROUP}/2147483648"),
        ("get", f"/models/{GROUP}/{'9' * 5000}"),
        ("get", f"/models/{GROUP}/0"),
        ("get", f"/models/{GROUP}/²"),
        ("get", f"/models/{GROUP}/\u0661"),  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, 1 to int()
        ("get", f"/models/{GROUP}/9223372036854775808/report"),
        ("post", f"/models/{GROUP}/9223372036854775808/decide"),
        ("get", f"/models/compare?a={GROUP}/1&b={GROUP}/18446744073709551617"),
    ],
)
def test_a_version_no_package_can_have_is_a_404(client: TestClient, method: str, url: str) -> None:
    response = client.request(method, url, data={"action": "approve", "confirmed": "yes"}, headers={"origin": ORIGIN})
    assert response.status_code == 404, response.text[:300]
    assert "model package version must be a whole number from 1 to 2147483647" in response.text
