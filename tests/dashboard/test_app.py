"""The dashboard's pages in-process (Starlette's TestClient) on state the real runtime built."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from showcase.dashboard.app import create_app
from showcase.dashboard.source import Endpoint
from showcase.store import ObjectStore
from tests.dashboard.conftest import ENDPOINT, GROUP, ORIGIN, State

SAME_ORIGIN = {"origin": ORIGIN}


def fresh_package(state: State, status: str = "PendingManualApproval") -> int:
    """A new version in GROUP, registered through the registry's API, for tests that change a status."""
    arn = state.registry().create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://b/m.tar.gz"}]},
    )["ModelPackageArn"]
    return int(arn.rsplit("/", 1)[1])


def test_home_redirects_to_executions(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/executions"


def test_executions_list_shows_every_run_with_status_and_overrides(client: TestClient, state: State) -> None:
    page = client.get("/executions").text
    for execution_id in (state.succeeded, state.second, state.failed):
        assert f'href="/executions/{execution_id}"' in page
    assert f'data-execution="{state.failed}">Failed<' in page
    assert "MseThreshold=1.0" in page and "MaxDepth=3" in page
    listed = client.get("/api/executions").json()["executions"]
    assert [e["execution_id"] for e in listed][-1] == state.succeeded  # newest first


def test_a_succeeded_execution_draws_its_graph(client: TestClient, state: State) -> None:
    page = client.get(f"/executions/{state.succeeded}").text
    statuses = dict(re.findall(r'data-step="(\w+)" data-status="(\w+)"', page))
    assert statuses == {
        "PrepareData": "Succeeded",
        "DataQualityBaseline": "Succeeded",
        "TrainModel": "Succeeded",
        "EvaluateModel": "Succeeded",
        "ReviewMse": "Succeeded",
        "RegisterModel": "Succeeded",
        "FailOnMse": "Skipped",
    }
    assert 'id="retry"' not in page


def test_a_failed_execution_shows_the_reason_and_a_retry_button(client: TestClient, state: State) -> None:
    page = client.get(f"/executions/{state.failed}").text
    assert 'data-step="FailOnMse" data-status="Failed"' in page
    assert 'data-step="RegisterModel" data-status="Skipped"' in page
    assert "above the threshold MseThreshold=1.0" in page
    assert 'id="retry"' in page
    api = client.get(f"/api/executions/{state.failed}").json()
    assert api["status"] == "Failed"
    assert {s["name"]: s["status"] for s in api["steps"]}["FailOnMse"] == "Failed"


def test_a_step_page_shows_its_log(client: TestClient, state: State) -> None:
    page = client.get(f"/executions/{state.succeeded}/steps/EvaluateModel").text
    assert "EvaluateModel: " in page and "test rows, mse" in page


def test_retry_reruns_the_failed_steps(client: TestClient, state: State) -> None:
    """A new attempt ran: the failed step has a new start time, the steps that succeeded keep theirs, and the
    execution keeps its start, so its duration spans both runs (CreationTime to LastModifiedTime on SageMaker)."""
    url = f"/api/executions/{state.failed}"
    before = client.get(url).json()
    steps_before = {step["name"]: step for step in before["steps"]}
    response = client.post(f"/executions/{state.failed}/retry", headers=SAME_ORIGIN, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/executions/{state.failed}"
    deadline = time.monotonic() + 60
    while True:  # the retry runs in the background: poll the page's JSON twin, as the page itself does
        after = client.get(url).json()
        steps_after = {step["name"]: step for step in after["steps"]}
        if after["status"] == "Failed" and steps_after["FailOnMse"]["start"] != steps_before["FailOnMse"]["start"]:
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.05)
    # The same parameters: the retry fails again, at the same step, having run it again.
    assert steps_after["FailOnMse"]["status"] == "Failed"
    assert steps_after["FailOnMse"]["start"] > steps_before["FailOnMse"]["end"]
    assert steps_after["EvaluateModel"]["start"] == steps_before["EvaluateModel"]["start"]  # reused, not rerun
    assert after["start"] == before["start"] and after["end"] > before["end"]
    start, end = datetime.fromisoformat(after["start"]), datetime.fromisoformat(after["end"])
    assert after["duration"] == (end - start).total_seconds() > before["duration"]


def test_only_a_failed_or_stopped_execution_can_be_retried(client: TestClient, state: State) -> None:
    response = client.post(f"/executions/{state.succeeded}/retry", headers=SAME_ORIGIN)
    assert response.status_code == 409 and "only a Failed or Stopped execution can be retried" in response.text


def registered_mse(state: State, version: int) -> float:
    """The test MSE of a version as SageMaker holds it: the evaluation report its ModelMetrics name."""
    described = state.registry().describe_model_package(ModelPackageName=f"{GROUP}/{version}")
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
    report = json.loads(ObjectStore(state.settings.store_root).get_bytes(statistics["S3Uri"]))
    return float(report["regression_metrics"]["mse"]["value"])


def test_models_page_lists_versions_with_metrics(client: TestClient, state: State) -> None:
    page = client.get("/models").text
    assert f'href="/models/{GROUP}/1"' in page and f'href="/models/{GROUP}/2"' in page
    for version in (1, 2):
        assert f"<td>{registered_mse(state, version):.4f}</td>" in page
    assert f'href="/models/{GROUP}/1/report"' in page


def test_a_package_page_shows_metrics_report_and_lineage(client: TestClient, state: State) -> None:
    page = client.get(f"/models/{GROUP}/1").text
    assert f'href="/executions/{state.succeeded}"' in page
    assert "preprocess.py" in page and "evaluate.py" in page  # code, with hashes
    assert "abalone" in page  # the input data, with its checksum
    assert 'id="report-link"' in page


def test_the_report_is_served_from_the_store_and_cannot_run_script(client: TestClient) -> None:
    response = client.get(f"/models/{GROUP}/1/report")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.text.count("<svg") == 3
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_two_versions_side_by_side(client: TestClient) -> None:
    page = client.get(f"/models/compare?a={GROUP}/1&b={GROUP}/2").text
    assert 'class="differs"><td>MaxDepth</td><td><code>5</code></td><td><code>3</code>' in page
    assert page.count("<iframe") == 2


def test_approve_asks_for_confirmation_then_changes_the_registry(client: TestClient, state: State) -> None:
    version = fresh_package(state)
    url = f"/models/{GROUP}/{version}/decide"
    confirm = client.post(url, data={"action": "approve", "description": "looks good"}, headers=SAME_ORIGIN)
    assert confirm.status_code == 200 and 'id="confirm"' in confirm.text
    assert state.status(version) == "PendingManualApproval"  # nothing changed yet
    done = client.post(
        url, data={"action": "approve", "description": "looks good", "confirmed": "yes"}, headers=SAME_ORIGIN
    )
    assert done.status_code == 200 and "PendingManualApproval -&gt; Approved" in done.text
    assert state.status(version) == "Approved"
    described = state.registry().describe_model_package(ModelPackageName=f"{GROUP}/{version}")
    assert described["ApprovalDescription"] == "looks good"


def test_approving_a_rejected_package_needs_force(client: TestClient, state: State) -> None:
    version = fresh_package(state, "Rejected")
    url = f"/models/{GROUP}/{version}/decide"
    refused = client.post(url, data={"action": "approve", "confirmed": "yes"}, headers=SAME_ORIGIN)
    assert refused.status_code == 409 and "was Rejected" in refused.text
    # On this page the way to force is the checkbox on the version's page, named as it reads there.
    assert "--force" not in refused.text
    assert "tick “approve even though it was rejected”" in refused.text
    assert "approve even though it was rejected" in client.get(f"/models/{GROUP}/{version}").text
    assert state.status(version) == "Rejected"
    forced = client.post(url, data={"action": "approve", "confirmed": "yes", "force": "yes"}, headers=SAME_ORIGIN)
    assert forced.status_code == 200 and state.status(version) == "Approved"


def test_a_post_from_another_origin_is_refused(client: TestClient, state: State) -> None:
    version = fresh_package(state)
    url = f"/models/{GROUP}/{version}/decide"
    form = {"action": "reject", "confirmed": "yes"}
    for headers in ({}, {"origin": "http://evil.example"}, {"origin": "null"}, {"referer": "http://127.0.0.1:9/x"}):
        response = client.post(url, data=form, headers=headers)
        assert response.status_code == 403 and "cross-origin" in response.text
    assert state.status(version) == "PendingManualApproval"
    assert client.post(url, data=form, headers={"referer": f"{ORIGIN}/models"}).status_code == 200
    assert state.status(version) == "Rejected"


def test_endpoints_show_package_counts_latency_and_captures(client: TestClient) -> None:
    listing = client.get("/endpoints").text
    assert f'href="/endpoints/{ENDPOINT}"' in listing and f'href="/models/{GROUP}/1"' in listing
    page = client.get(f"/endpoints/{ENDPOINT}").text
    assert '<td data-metric="requests">5</td>' in page and '<td data-metric="errors">1</td>' in page
    assert page.count("0.1,0.2,0.3") == 3 and "9.5" in page
    api = client.get(f"/api/endpoints/{ENDPOINT}").json()
    assert api["requests"] == 5 and api["p95_latency_ms"] == 5.0 and api["status"] == "OutOfService"


@pytest.mark.parametrize(
    ("method", "url", "data", "status", "message"),
    [
        ("get", "/executions/nosuchexecution", None, 404, "no execution &#39;nosuchexecution&#39;"),
        ("get", "/executions/../../etc", None, 404, ""),
        ("get", "/api/executions/nosuchexecution", None, 404, "no execution"),
        ("get", "/executions/{succeeded}/steps/NoStep", None, 404, "has no step &#39;NoStep&#39;"),
        ("post", "/executions/nosuchexecution/retry", {}, 404, "no execution"),
        ("get", f"/models/{GROUP}/999", None, 404, f"model package {GROUP}/999 does not exist"),
        ("get", f"/models/{GROUP}/abc", None, 404, "must be a whole number"),
        ("get", "/models/NoGroup/1/report", None, 404, "does not exist"),
        ("get", "/models/compare?a=x", None, 400, "compare needs ?a=&lt;group&gt;/&lt;version&gt;"),
        ("post", f"/models/{GROUP}/1/decide", {"action": "delete"}, 400, "action must be one of approve, reject"),
        ("post", f"/models/{GROUP}/999/decide", {"action": "approve", "confirmed": "yes"}, 404, "does not exist"),
        ("get", "/endpoints/no-such-endpoint", None, 404, "no endpoint"),
        ("get", "/endpoints/bad_name!", None, 404, "no endpoint"),
        ("get", "/no/such/page", None, 404, "Not Found"),
    ],
)
def test_bad_requests_get_clear_4xx_pages(
    client: TestClient, state: State, method: str, url: str, data: dict[str, str] | None, status: int, message: str
) -> None:
    url = url.format(succeeded=state.succeeded)
    response = client.request(method, url, data=data, headers=SAME_ORIGIN)
    assert response.status_code == status
    assert message in response.text


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(execution_id=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in (".", "..")))
def test_any_execution_id_is_a_page_or_a_404(client: TestClient, execution_id: str) -> None:
    from urllib.parse import quote

    response = client.get(f"/executions/{quote(execution_id, safe='')}")
    assert response.status_code in (200, 404)


class OneEndpoint:
    """A Source holding one running endpoint served by ``workers`` workers (the only page these tests open)."""

    title = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def endpoint(self, name: str) -> Endpoint:
        return Endpoint(name, "InService", "arn:x", workers=self.workers, url="http://127.0.0.1:8080")


@pytest.mark.parametrize(("workers", "phrase"), [(1, "with 1 worker."), (2, "with 2 workers.")])
def test_the_endpoint_page_counts_workers_in_words(workers: int, phrase: str) -> None:
    client = TestClient(create_app(OneEndpoint(workers)), base_url=ORIGIN)  # type: ignore[arg-type]
    page = client.get("/endpoints/live").text
    assert phrase in page, re.findall(r"with \d+ \w+", page)
