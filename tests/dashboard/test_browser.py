"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against a real server.

Screenshots of every page land in ``tests/artifacts/dashboard/`` (git-ignored). The browser is the system's
Chromium (``make setup`` installs Debian's as root) or Chrome; Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from showcase.dashboard import create_app
from showcase.dashboard.app import HTTP_LIMITS
from showcase.dashboard.local_source import LocalSource
from showcase.local.records import ExecutionStore, now
from showcase.serving.bounds import uvicorn_config
from showcase.store import ObjectStore
from tests.dashboard.conftest import ENDPOINT, GROUP, State
from tests.dashboard.test_security import HOSTILE

# Debian's chromium (what `make setup` installs as root), or SHOWCASE_CHROMIUM, or a Chrome already on PATH
# (GitHub's Ubuntu runners ship google-chrome).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Path | None:
    named = os.environ.get("SHOWCASE_CHROMIUM")
    if named:
        return Path(named) if Path(named).is_file() else None
    found = next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)
    return Path(found) if found else None


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def base_url(dashboard_state: State) -> Iterator[str]:
    """The dashboard on a real uvicorn server in a thread, configured as ``showcase-dashboard`` serves it; it binds
    port 0 and the port it got is read back from its listening socket (no port is picked first and released, for
    another process to take meanwhile)."""
    app = create_app(LocalSource(dashboard_state.settings))
    server = uvicorn.Server(uvicorn_config(app, HTTP_LIMITS, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard server did not start within 10 s"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(
            f"the browser tests need Chromium ({', '.join(CHROMIUM_NAMES)} on PATH, or SHOWCASE_CHROMIUM): "
            "run `make setup` as root, or "
            "`sudo apt-get update && sudo apt-get install -y chromium` (Debian/Ubuntu)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    opened.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    opened.on(
        "request",
        lambda request: (
            problems.append(f"external request: {request.url}")
            if not request.url.startswith(("http://127.0.0.1", "data:", "about:"))
            else None
        ),
    )
    yield opened
    context.close()
    assert problems == []


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_every_page_renders(page: Any, base_url: str, state: State) -> None:
    pages = {
        "executions": ("/executions", "Pipeline executions"),
        "execution-succeeded": (f"/executions/{state.succeeded}", state.succeeded),
        "execution-failed": (f"/executions/{state.failed}", state.failed),
        "step-log": (f"/executions/{state.succeeded}/steps/TrainModel", "TrainModel"),
        "models": ("/models", "Model registry"),
        "package": (f"/models/{GROUP}/2", f"{GROUP}/2"),
        "compare": (f"/models/compare?a={GROUP}/1&b={GROUP}/2", "against"),
        "report": (f"/models/{GROUP}/1/report", "Model evaluation"),
        "endpoints": ("/endpoints", "Endpoints"),
        "endpoint": (f"/endpoints/{ENDPOINT}", ENDPOINT),
    }
    for name, (url, heading) in pages.items():
        response = page.goto(base_url + url)
        assert response.status == 200, url
        assert heading in page.locator("h1").inner_text(), url
        shoot(page, name)


def test_the_compare_page_frames_both_reports(page: Any, base_url: str) -> None:
    """The reports forbid framing by any origin but the dashboard's own: the compare page still shows them."""
    page.goto(f"{base_url}/models/compare?a={GROUP}/1&b={GROUP}/2")
    frames = [frame for frame in page.frames if frame.url.endswith("/report")]
    assert len(frames) == 2
    for frame in frames:
        frame.wait_for_selector("h1")
        assert "Model evaluation" in frame.locator("h1").inner_text()


def test_a_hostile_step_name_runs_no_script(page: Any, base_url: str, state: State) -> None:
    """An execution record whose step name closes the badge's attribute and adds ``autofocus onfocus=...``:
    before names were escaped, Chromium ran the handler on page load, on the dashboard's origin."""
    records = ExecutionStore(state.settings.executions_root)
    hostile_id = "hostilexecution1"
    shutil.copytree(records.directory(state.succeeded), records.directory(hostile_id))
    definition, parameters = records.load_inputs(hostile_id)
    for step in definition["Steps"]:
        if step["Name"] == "TrainModel":
            step["Name"] = HOSTILE
    records.save_inputs(hostile_id, definition, parameters)
    record = records.load(state.succeeded)
    record.execution_id, record.start, record.end = hostile_id, now(), now()
    record.step("TrainModel").name = HOSTILE
    record.failure_reason = HOSTILE
    records.save(record)

    page.goto(f"{base_url}/executions/{hostile_id}")
    page.locator("h1").click()  # focus moves, as a reader's click would move it
    assert page.evaluate("document.title") != "pwned"
    assert page.locator("[onfocus], [onerror], [autofocus], main img, main script").count() == 0
    badges = page.evaluate("() => [...document.querySelectorAll('[data-step-status]')].map(e => e.dataset.stepStatus)")
    assert HOSTILE in badges and len(badges) == 7
    assert page.locator(".dag [data-step]").count() == 7
    assert HOSTILE in page.locator("#steps").inner_text() and HOSTILE in page.locator("#failure-reason").inner_text()
    page.goto(f"{base_url}/executions")
    assert page.evaluate("document.title") != "pwned"
    assert page.locator("[onfocus], [onerror], [autofocus], main img, main script").count() == 0


def _graph(page: Any) -> dict[str, str]:
    nodes = page.locator(".dag [data-step]")
    return {
        nodes.nth(i).get_attribute("data-step"): nodes.nth(i).get_attribute("data-status") for i in range(nodes.count())
    }


def _fill(page: Any, step: str) -> str:
    return str(page.locator(f'.dag [data-step="{step}"] rect').evaluate("rect => getComputedStyle(rect).fill"))


def test_the_graph_shows_each_steps_status(page: Any, base_url: str, state: State) -> None:
    page.goto(f"{base_url}/executions/{state.succeeded}")
    assert _graph(page) == {
        "PrepareData": "Succeeded",
        "DataQualityBaseline": "Succeeded",
        "TrainModel": "Succeeded",
        "EvaluateModel": "Succeeded",
        "ReviewMse": "Succeeded",
        "RegisterModel": "Succeeded",
        "FailOnMse": "Skipped",
    }
    green = _fill(page, "RegisterModel")
    page.goto(f"{base_url}/executions/{state.failed}")
    graph = _graph(page)
    assert graph["FailOnMse"] == "Failed" and graph["RegisterModel"] == "Skipped"
    assert graph["TrainModel"] in ("Succeeded", "Cached")
    red = _fill(page, "FailOnMse")
    assert green == "rgb(220, 252, 231)" and red == "rgb(254, 226, 226)"
    assert page.locator("#retry").is_visible()
    page.locator('.dag [data-step="FailOnMse"]').click()
    assert "above the threshold MseThreshold=1.0" in page.locator("#failure-reason").inner_text()


def test_approve_a_pending_version_by_clicking(page: Any, base_url: str, state: State) -> None:
    assert state.status(1) == "PendingManualApproval"
    page.goto(f"{base_url}/models/{GROUP}/1")
    shoot(page, "package-pending")
    page.locator("#description").fill("MSE within budget; reviewed the residuals")
    page.locator("#approve").click()
    page.wait_for_url("**/decide")
    shoot(page, "confirm")
    assert state.status(1) == "PendingManualApproval"  # asked, not done
    page.locator("#confirm").click()
    page.wait_for_url(f"**/models/{GROUP}/1?changed=*")
    assert page.locator("#package-status").inner_text() == "Approved"
    assert "PendingManualApproval -> Approved" in page.locator("#changed").inner_text()
    assert state.status(1) == "Approved"
    page.goto(f"{base_url}/models")
    assert page.locator(f'[data-package="{GROUP}/1"]').inner_text() == "Approved"


def test_a_running_execution_updates_live(page: Any, base_url: str, state: State) -> None:
    """The page polls its JSON twin: a step that finishes turns green without a reload."""
    records = ExecutionStore(state.settings.executions_root)
    live_id = "livexecution1"
    shutil.copytree(records.directory(state.succeeded), records.directory(live_id))
    record = records.load(state.succeeded)
    record.execution_id, record.status, record.end = live_id, "Executing", None
    for step in record.steps:
        if step.name in ("EvaluateModel", "ReviewMse", "RegisterModel", "FailOnMse"):
            step.status, step.end = ("Executing" if step.name == "EvaluateModel" else "NotStarted"), None
    with records.hold(live_id):  # this process runs it, as a runner does: it is not reported "interrupted"
        records.save(record)
        page.goto(f"{base_url}/executions/{live_id}")
        assert _graph(page)["EvaluateModel"] == "Executing"
        shoot(page, "execution-running")
        record.step("EvaluateModel").status = "Succeeded"
        record.step("ReviewMse").status = "Executing"
        records.save_change(record, record.step("EvaluateModel"))
        records.save_change(record, record.step("ReviewMse"))
        page.wait_for_selector('.dag [data-step="EvaluateModel"][data-status="Succeeded"]')
        page.wait_for_selector('[data-step-status="ReviewMse"]:text("Executing")')
        assert _graph(page)["ReviewMse"] == "Executing"


# -- what each page shows (one test per point a reader raised) --------------------------------------------------


def test_an_execution_shows_the_package_it_registered_and_its_mse(page: Any, base_url: str, state: State) -> None:
    described = state.registry().describe_model_package(ModelPackageName=f"{GROUP}/1")
    report = ObjectStore(state.settings.store_root).get_bytes(
        described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    )
    mse = json.loads(report)["regression_metrics"]["mse"]["value"]
    page.goto(f"{base_url}/executions/{state.succeeded}")
    row = page.locator(f'#registered [data-registered="{GROUP}/1"]')
    assert row.locator('[data-metric="mse"]').inner_text() == f"{mse:.4f}"
    assert "PendingManualApproval" in row.inner_text() or "Approved" in row.inner_text()
    shoot(page, "execution-registered")
    row.locator("a").click()
    page.wait_for_url(f"**/models/{GROUP}/1")
    page.goto(f"{base_url}/executions/{state.failed}")
    assert page.locator("#registered").count() == 0  # the Fail step stopped it before registering


def test_a_tuned_run_is_told_apart_from_a_default_one_in_the_list(page: Any, base_url: str, state: State) -> None:
    page.goto(f"{base_url}/executions")
    tuned = page.locator(f'[data-shape="{state.tuned}"]')
    default = page.locator(f'[data-shape="{state.succeeded}"]')
    assert "tuned (2 trials)" in tuned.inner_text() and tuned.locator(".tag").is_visible()
    assert default.inner_text() == "7 steps" and default.locator(".tag").count() == 0
    shoot(page, "executions-shapes")


def test_captured_requests_are_newest_first_across_workers(page: Any, base_url: str, state: State) -> None:
    """Two workers write a file each; the newest request is in the file that was started first."""
    from showcase.serving.capture import CaptureWriter
    from showcase.serving.deployment import CaptureConfig, Deployment, EndpointPaths, write_deployment
    from showcase.serving.fleet import Fleet

    name = "two-workers"
    paths = EndpointPaths(state.settings.home, name)
    capture = CaptureConfig(enabled=True, sampling_percentage=100, destination_uri="s3://showcase-local/datacapture")
    fleet = Fleet.single(1, "arn:x", "s3://x/m.tar.gz", str(paths.models_dir / "x"))
    write_deployment(paths, Deployment(name, fleet, 1, capture, ""))
    store = ObjectStore(state.settings.store_root)
    first, second = CaptureWriter(store, capture, name), CaptureWriter(store, capture, name)
    for writer, row in ((first, "1"), (second, "2"), (first, "3"), (second, "4"), (first, "5")):
        writer.maybe_capture("text/csv", f"{row},0.5".encode(), "text/csv", row.encode())
        time.sleep(0.005)  # inferenceTime has milliseconds: each request its own
    first.close()
    second.close()
    page.goto(f"{base_url}/endpoints/{name}")
    rows = page.locator("#captures tbody tr")
    times = [rows.nth(i).locator("td").nth(0).inner_text() for i in range(rows.count())]
    requests = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert requests == ["5,0.5", "4,0.5", "3,0.5", "2,0.5", "1,0.5"]
    assert times == sorted(times, reverse=True)


def test_a_tuned_runs_graph_fits_the_page(browser: Any, base_url: str, state: State) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base_url}/executions/{state.tuned}")
        frame = page.locator(".graph").bounding_box()
        nodes = page.locator(".dag [data-step]")
        assert nodes.count() == len(ExecutionStore(state.settings.executions_root).load(state.tuned).steps)
        for i in range(nodes.count()):
            box = nodes.nth(i).bounding_box()
            assert box["x"] >= frame["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, i
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        shoot(page, "execution-tuned")
    finally:
        context.close()


def test_compare_shows_the_two_reports_side_by_side(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/models/compare?a={GROUP}/1&b={GROUP}/2")
    left, right = (page.locator(".reports iframe").nth(i).bounding_box() for i in (0, 1))
    assert abs(left["y"] - right["y"]) < 1 and right["x"] >= left["x"] + left["width"]
    main = page.locator("main").bounding_box()
    assert left["width"] > main["width"] * 0.4 and right["width"] > main["width"] * 0.4
    shoot(page, "compare-side-by-side")


def test_a_parameter_one_package_lacks_shows_a_dash(page: Any, base_url: str) -> None:
    """The tuned variant (version 3) searches MaxDepth instead of taking it as a parameter."""
    page.goto(f"{base_url}/models/compare?a={GROUP}/1&b={GROUP}/3")
    cells = page.locator("#compare tbody td").all_inner_texts()
    assert "None" not in cells
    row = page.locator("#compare tbody tr", has=page.locator("td", has_text="MaxDepth")).first
    assert row.locator("td").all_inner_texts()[1:3] == ["5", "-"]


def test_booleans_show_as_sagemaker_writes_them(page: Any, base_url: str, state: State) -> None:
    page.goto(f"{base_url}/executions/{state.succeeded}")
    values = dict(zip(*[page.locator(f"#parameters td:nth-child({n})").all_inner_texts() for n in (1, 2)], strict=True))
    assert values["SkipDataQualityCheck"] == "true" and values["RegisterNewDataQualityBaseline"] == "true"
    assert "True" not in values.values() and "False" not in values.values()
    page.goto(f"{base_url}/models/{GROUP}/1")
    assert "True" not in page.locator("#lineage ~ table.params").inner_text()
