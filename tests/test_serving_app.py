"""The endpoint's ASGI app in-process: routes, status codes, runtime API shapes, batching, swaps, capture."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showcase import settings as settings_module
from showcase.deployment.config import parse_endpoint_config
from showcase.serving.app import LARGE_BODY_BYTES, EndpointApp
from showcase.serving.codec import MAX_PAYLOAD_BYTES
from showcase.serving.deployment import EndpointPaths, prepare_deployment, read_deployment, write_deployment
from showcase.serving.errors import ModelLoadError
from showcase.store import ObjectStore
from tests.serving_support import ROW, register, train_booster, write_config

Response = tuple[int, dict[str, str], bytes]


def deploy(home: Path, arn: str, **extra: str) -> EndpointPaths:
    config_path = write_config(home / "config.json", arn, **extra)
    config = parse_endpoint_config(json.loads(config_path.read_text()), "config.json")
    current = settings_module.load(home)
    paths = EndpointPaths(current.home, "test-endpoint")
    deployment, _ = prepare_deployment(config, current, source="config.json", previous=read_deployment(paths))
    write_deployment(paths, deployment)
    return paths


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def app(home: Path) -> EndpointApp:
    paths = deploy(home, register(home, train_booster()))
    return EndpointApp.from_home(paths, ObjectStore(home / "store"))


def call(
    app: EndpointApp, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Response:
    return asyncio.run(_call(app, method, path, body, headers or {}))


async def _call(app: EndpointApp, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await app({"type": "http", "method": method, "path": path, "headers": raw_headers}, receive, send)
    start, content = sent
    response_headers = {name.decode(): value.decode() for name, value in start["headers"]}
    return start["status"], response_headers, content["body"]


def invoke(app: EndpointApp, body: bytes | str, **headers: str) -> Response:
    data = body.encode() if isinstance(body, str) else body
    names = {"content_type": "Content-Type", "accept": "Accept", "content_length": "Content-Length"}
    return call(app, "POST", "/invocations", data, {names[key]: value for key, value in headers.items()})


def expected(booster: xgb.Booster, rows: str) -> list[float]:
    matrix = np.array([[float(v) for v in line.split(",")] for line in rows.splitlines()])
    return [float(v) for v in booster.inplace_predict(matrix)]


def test_ping_and_execution_parameters(app: EndpointApp) -> None:
    assert call(app, "GET", "/ping")[0] == 200
    status, _, body = call(app, "GET", "/execution-parameters")
    assert status == 200 and json.loads(body)["MaxPayloadInMB"] == 6


def test_csv_predictions_match_the_booster(app: EndpointApp) -> None:
    rows = f"{ROW}\n{ROW.replace('-0.574', '1.5')}"
    status, headers, body = invoke(app, rows, content_type="text/csv")
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert [float(v) for v in body.decode().splitlines()] == expected(train_booster(), rows)
    assert headers["x-showcase-model-package"].endswith("model-package/testgroup/1")


@pytest.mark.parametrize("content_type", ["text/csv; charset=utf-8", "text/csv; label_size=0", "text/csv"])
def test_csv_parameters(app: EndpointApp, content_type: str) -> None:
    assert invoke(app, ROW, content_type=content_type)[0] == 200


def test_missing_content_type_means_csv(app: EndpointApp) -> None:
    assert invoke(app, ROW)[0] == 200


@pytest.mark.parametrize("content_type", ["text/libsvm", "text/x-libsvm"])
def test_libsvm(app: EndpointApp, content_type: str) -> None:
    dense = ",".join(str(float(i)) for i in range(10))
    sparse = " ".join(f"{i}:{float(i)}" for i in range(10))
    assert invoke(app, sparse, content_type=content_type)[2] == invoke(app, dense, content_type="text/csv")[2]


def test_json_and_jsonlines(app: EndpointApp) -> None:
    rows = f"{ROW}\n{ROW}"
    score = expected(train_booster(), ROW)[0]
    status, headers, body = invoke(app, rows, accept="application/json")
    assert (status, headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {"predictions": [{"score": score}, {"score": score}]}
    status, headers, body = invoke(app, rows, accept="application/jsonlines")
    assert (status, headers["content-type"]) == (200, "application/jsonlines")
    assert [json.loads(line) for line in body.decode().splitlines()] == [{"score": score}] * 2


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"", {}, 204, ""),
        (ROW.encode(), {"content_type": "application/json"}, 415, "Content-Type 'application/json' is not supported"),
        (ROW.encode(), {"accept": "application/xml"}, 406, "Accept 'application/xml' is not supported"),
        (b"1,2,3", {}, 400, "row 1 has 3 values; the model takes 10 features"),
        (b"a" + ROW.encode()[1:], {}, 400, "row 1, column 1: 'a0.574' is not a number"),
        (ROW.replace("0,0,1", "0,0,inf").encode(), {}, 400, "row 1, column 10: inf is not a finite number"),
        (b"\xc3\x28", {}, 400, "not UTF-8 text: byte 0xc3 at offset 0"),
        (b"1" * (MAX_PAYLOAD_BYTES + 1), {}, 413, "larger than 6291456 bytes"),
        (b"1,2", {"content_length": str(MAX_PAYLOAD_BYTES + 1)}, 413, "larger than 6291456 bytes"),
    ],
)
def test_status_codes(app: EndpointApp, body: bytes, headers: dict[str, str], status: int, message: str) -> None:
    got_status, _, got_body = invoke(app, body, **headers)
    assert got_status == status
    assert message in got_body.decode()


def test_exactly_the_limit_is_accepted(app: EndpointApp) -> None:
    row = (ROW + "\n").encode()
    body = row * (MAX_PAYLOAD_BYTES // len(row))
    body += b" " * (MAX_PAYLOAD_BYTES - len(body))
    assert len(body) == MAX_PAYLOAD_BYTES
    assert invoke(app, body)[0] == 200


def test_unknown_routes_and_methods(app: EndpointApp) -> None:
    assert call(app, "GET", "/nope")[0] == 404
    assert call(app, "GET", "/invocations")[0] == 405


def test_runtime_api_success_and_errors(app: EndpointApp) -> None:
    path = "/endpoints/test-endpoint/invocations"
    status, headers, body = call(app, "POST", path, ROW.encode(), {"Content-Type": "text/csv"})
    assert status == 200 and headers["x-amzn-invoked-production-variant"] == "AllTraffic"
    status, headers, body = call(app, "POST", "/endpoints/other/invocations", ROW.encode())
    assert (status, headers["x-amzn-errortype"]) == (404, "ValidationError")
    assert json.loads(body) == {"message": "Endpoint other of account 000000000000 not found."}
    status, headers, body = call(app, "POST", path, b"1,2", {"Content-Type": "text/csv"})
    document = json.loads(body)
    assert (status, headers["x-amzn-errortype"], document["OriginalStatusCode"]) == (424, "ModelError", 400)
    assert "row 1 has 2 values" in document["OriginalMessage"]
    status, headers, _ = call(app, "POST", path, ROW.encode(), {"Content-Type": "application/json"})
    assert (status, headers["x-amzn-errortype"]) == (424, "ModelError")
    status, headers, _ = call(app, "POST", path, b"1" * (MAX_PAYLOAD_BYTES + 1))
    assert (status, headers["x-amzn-errortype"]) == (413, "ValidationError")


def test_default_accept_from_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/jsonlines")
    paths = deploy(home, register(home, train_booster()))
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    assert invoke(app, ROW)[1]["content-type"] == "application/jsonlines"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.lists(
            st.lists(
                st.sampled_from(["1", "-2.5", "", "nan", "inf", "x", " 3 ", "1e308", "1e999"]), min_size=9, max_size=11
            ),
            min_size=1,
            max_size=5,
        ).map(lambda rows: "\n".join(",".join(r) for r in rows).encode()),
    ),
    content_type=st.sampled_from(["text/csv", "text/libsvm", "text/x-libsvm", "text/csv; label_size=0", "a/b", ""]),
    accept=st.sampled_from(["text/csv", "application/json", "application/jsonlines", "*/*", "x/y", ""]),
)
def test_no_body_gets_a_5xx(app: EndpointApp, body: bytes, content_type: str, accept: str) -> None:
    status, _, response = invoke(app, body, content_type=content_type, accept=accept)
    assert status in (200, 204, 400, 406, 415)
    if status >= 400:
        assert response.strip()


def test_concurrent_small_requests_share_a_prediction_and_get_their_own_rows(app: EndpointApp) -> None:
    booster = train_booster()
    rows = [ROW.replace("-0.574", str(i)) for i in range(20)]

    async def many() -> list[Response]:
        return await asyncio.gather(
            *[_call(app, "POST", "/invocations", row.encode(), {"content-type": "text/csv"}) for row in rows]
            + [_call(app, "POST", "/invocations", b"1,2", {"content-type": "text/csv"})]
        )

    calls: list[int] = []
    counting = app.model.booster.inplace_predict

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return counting(*args, **kwargs)

    app.model.booster.inplace_predict = counted  # type: ignore[method-assign]
    responses = asyncio.run(many())
    assert [float(r[2]) for r in responses[:-1]] == [expected(booster, row)[0] for row in rows]
    assert responses[-1][0] == 400
    assert len(calls) == 1  # twenty requests, one prediction


def test_concurrent_large_bodies_are_each_answered_with_their_own_rows(app: EndpointApp) -> None:
    """Bodies above LARGE_BODY_BYTES are answered on the worker's threads, several at once, as Python writes them."""
    booster = train_booster()
    matrices = [np.round(np.random.default_rng(seed).normal(size=(400, 10)), 5) for seed in range(4)]
    bodies = ["\n".join(",".join(repr(float(v)) for v in row) for row in matrix) + "\n" for matrix in matrices]
    assert all(len(body) > LARGE_BODY_BYTES for body in bodies)
    accepts = ["text/csv", "application/json", "text/csv", "application/jsonlines"]

    async def together() -> list[Response]:
        return await asyncio.gather(
            *[
                _call(app, "POST", "/invocations", body.encode(), {"content-type": "text/csv", "accept": accept})
                for body, accept in zip(bodies, accepts, strict=True)
            ]
        )

    responses = asyncio.run(together())
    for matrix, accept, (status, headers, body) in zip(matrices, accepts, responses, strict=True):
        scores = [float(v) for v in booster.inplace_predict(matrix)]
        assert status == 200 and headers["x-showcase-model-package"].endswith("/1")
        if accept == "text/csv":
            assert body == "".join(f"{score}\n" for score in scores).encode()
        elif accept == "application/json":
            assert body == json.dumps({"predictions": [{"score": score} for score in scores]}).encode()
        else:
            assert body == "".join(json.dumps({"score": score}) + "\n" for score in scores).encode()
    status, _, message = invoke(app, bodies[0].replace("\n", ",0\n", 3), content_type="text/csv")
    assert status == 400 and message.startswith(b"row 1 has 11 values")


def test_reload_swaps_to_a_new_generation(home: Path) -> None:
    paths = deploy(home, register(home, train_booster()))
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    before = invoke(app, ROW)[2]
    deploy(home, register(home, train_booster(offset=5.0)))
    assert app.reload() is True
    after = invoke(app, ROW)
    assert after[2] != before and after[1]["x-showcase-model-package"].endswith("/2")
    assert json.loads((paths.workers_dir / f"{app.metrics.pid}.json").read_text())["generation"] == 2
    assert app.reload() is False


def test_a_model_that_fails_to_load_at_swap_time_is_refused(home: Path) -> None:
    paths = deploy(home, register(home, train_booster()))
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    before = invoke(app, ROW)[2]
    deploy(home, register(home, train_booster(offset=5.0)))
    (Path(read_deployment(paths).model_dir) / "xgboost-model").write_bytes(b"not a model")  # type: ignore[union-attr]
    assert app.reload() is False
    assert invoke(app, ROW)[2] == before
    worker = json.loads((paths.workers_dir / f"{app.metrics.pid}.json").read_text())
    assert worker["generation"] == 1 and "XGBoost cannot load" in worker["swap_error"]


def test_a_new_worker_falls_back_to_the_previous_model(home: Path) -> None:
    paths = deploy(home, register(home, train_booster()))
    deploy(home, register(home, train_booster(offset=5.0)))
    shutil.rmtree(read_deployment(paths).model_dir)  # type: ignore[union-attr]
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    assert app.model.model_package_arn.endswith("/1")


def test_capture_every_request_at_100_percent(home: Path) -> None:
    paths = deploy(home, register(home, train_booster()), EnableDataCapture="true", SamplingPercentage="100")
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    for _ in range(3):
        invoke(app, ROW, content_type="text/csv", accept="application/json")
    invoke(app, b"1,2", content_type="text/csv")  # refused: not captured
    app.close()
    files = list((home / "store" / "showcase-local" / "datacapture" / "test-endpoint" / "AllTraffic").rglob("*.jsonl"))
    assert len(files) == 1
    records = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(records) == 3
    assert records[0]["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": ROW,
        "encoding": "CSV",
    }
    assert records[0]["captureData"]["endpointOutput"]["encoding"] == "JSON"
    assert len({r["eventMetadata"]["eventId"] for r in records}) == 3


def test_model_load_errors_are_one_line(tmp_path: Path) -> None:
    from showcase.serving.model import load_model

    (tmp_path / "xgboost-model").write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError, match="XGBoost cannot load xgboost-model") as caught:
        load_model(tmp_path, model_package_arn="arn:x")
    assert "\n" not in str(caught.value)
    with pytest.raises(ModelLoadError, match="holds no 'xgboost-model' file"):
        load_model(tmp_path / "nothing")


@pytest.mark.parametrize("path", ["/invocations", "/endpoints/test-endpoint/invocations"])
def test_a_body_cut_short_is_neither_predicted_nor_captured(home: Path, path: str) -> None:
    """The connection closed half-way through the body (the client left, or the server cut a body slower than
    its deadline): the half that came is not a request. Nothing is sent, captured or counted as a success."""
    paths = deploy(home, register(home, train_booster()), EnableDataCapture="true", SamplingPercentage="100")
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    incoming = [{"type": "http.request", "body": ROW[:20].encode(), "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-type", b"text/csv")]}
    asyncio.run(app(scope, receive, send))
    app.close()
    assert sent == []
    assert not (home / "store" / "showcase-local" / "datacapture").exists()
    assert app.metrics.snapshot()["by_status"] == {"499": 1}
