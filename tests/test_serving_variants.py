"""Variants in one worker, in-process: weights, X-Amzn-SageMaker-Target-Variant, the shadow, a blue/green split,
and a model that answers what no regression answers.

Weights are checked over N requests against a binomial bound: a variant of share p answers a count within
5 standard deviations of N p (|count - N p| <= 5 sqrt(N p (1 - p))), which a correct router misses with a
probability below 1e-6 (normal approximation; Chernoff gives the same order).
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from showcase import settings as settings_module
from showcase.deployment.config import parse_endpoint_config
from showcase.errors import UsageError
from showcase.serving.app import EndpointApp
from showcase.serving.deployment import EndpointPaths, prepare_deployment, read_deployment, write_deployment
from showcase.serving.fleet import variant_specs
from showcase.store import ObjectStore
from tests.serving_support import ROW, broken_model, register, train_booster, write_config

ENDPOINT = "test-endpoint"
RUNTIME = f"/endpoints/{ENDPOINT}/invocations"


def deploy(home: Path, arn: str, **extra: str) -> EndpointPaths:
    config_path = write_config(home / "config.json", arn, **extra)
    config = parse_endpoint_config(json.loads(config_path.read_text()), "config.json")
    current = settings_module.load(home)
    paths = EndpointPaths(current.home, ENDPOINT)
    deployment, _ = prepare_deployment(config, current, source="config.json", previous=read_deployment(paths))
    write_deployment(paths, deployment)
    return paths


def app_of(home: Path, paths: EndpointPaths) -> EndpointApp:
    return EndpointApp.from_home(paths, ObjectStore(home / "store"))


async def _call(app: EndpointApp, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body_out


def call(app: EndpointApp, path: str = RUNTIME, body: str = ROW, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(_call(app, path, body.encode(), {"content-type": "text/csv", **headers}))


def within_binomial_bound(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def score(offset: float) -> float:
    import numpy as np

    return float(train_booster(offset).inplace_predict(np.array([[float(v) for v in ROW.split(",")]]))[0])


def test_weights_share_the_traffic_within_the_binomial_bound(home: Path) -> None:
    primary, challenger = register(home, train_booster()), register(home, train_booster(offset=5.0))
    paths = deploy(
        home,
        primary,
        ChallengerModelPackageName=challenger,
        PrimaryVariantWeight="3",
        ChallengerVariantWeight="1",
    )
    app = app_of(home, paths)
    n = 2000
    answered = [call(app)[1]["x-amzn-invoked-production-variant"] for _ in range(n)]
    assert set(answered) == {"AllTraffic", "Challenger"}
    assert within_binomial_bound(answered.count("Challenger"), n, 0.25)
    worker = app.metrics.snapshot()["variants"]
    assert worker["1/Challenger"]["requests"] == answered.count("Challenger")
    assert worker["1/AllTraffic"]["requests"] == answered.count("AllTraffic")


def test_the_target_variant_header_overrides_the_weights(home: Path) -> None:
    primary, challenger = register(home, train_booster()), register(home, train_booster(offset=5.0))
    paths = deploy(
        home, primary, ChallengerModelPackageName=challenger, PrimaryVariantWeight="1", ChallengerVariantWeight="0"
    )
    app = app_of(home, paths)
    for _ in range(50):
        status, headers, body = call(app, **{"X-Amzn-SageMaker-Target-Variant": "Challenger"})
        assert status == 200 and headers["x-amzn-invoked-production-variant"] == "Challenger"
        assert float(body) == score(5.0)
    assert {call(app)[1]["x-amzn-invoked-production-variant"] for _ in range(50)} == {"AllTraffic"}  # weight 0


def test_an_unknown_target_variant_is_a_validation_error(home: Path) -> None:
    app = app_of(home, deploy(home, register(home, train_booster())))
    status, headers, body = call(app, **{"X-Amzn-SageMaker-Target-Variant": "Nope"})
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationError"
    assert "'Nope'" in json.loads(body)["message"] and "AllTraffic" in json.loads(body)["message"]
    status, _, text = call(app, "/invocations", **{"X-Amzn-SageMaker-Target-Variant": "Nope"})
    assert status == 400 and b"not a production variant" in text


def test_a_shadow_answers_every_request_into_its_capture_and_never_to_the_caller(home: Path) -> None:
    primary, shadow = register(home, train_booster()), register(home, train_booster(offset=5.0))
    paths = deploy(home, primary, ShadowModelPackageName=shadow, EnableDataCapture="true", SamplingPercentage="100")
    app = app_of(home, paths)
    for number in range(20):
        status, headers, body = call(app, **{"X-Amzn-SageMaker-Inference-Id": f"id-{number}"})
        assert status == 200 and headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        assert float(body) == score(0.0)
    status, _, _ = call(app, **{"X-Amzn-SageMaker-Target-Variant": "Shadow"})
    assert status == 400  # a shadow is not a production variant
    app.close()
    root = home / "store" / "showcase-local" / "datacapture" / ENDPOINT

    def captured(variant: str) -> list[dict[str, Any]]:
        return [json.loads(line) for f in (root / variant).rglob("*.jsonl") for line in f.read_text().splitlines()]

    production, shadowed = captured("AllTraffic"), captured("Shadow")
    assert len(production) == len(shadowed) == 20
    assert {float(r["captureData"]["endpointOutput"]["data"]) for r in shadowed} == {score(5.0)}
    assert {float(r["captureData"]["endpointOutput"]["data"]) for r in production} == {score(0.0)}
    assert sorted(r["eventMetadata"]["inferenceId"] for r in shadowed) == sorted(f"id-{n}" for n in range(20))
    metrics = app.metrics.snapshot()
    assert metrics["variants"]["1/Shadow"]["requests"] == 20
    assert metrics["requests"] == 21  # the shadow's answers are not the endpoint's invocations


def test_a_challenger_beside_a_shadow_is_refused() -> None:
    with pytest.raises(UsageError, match="shadow variant beside one production variant only"):
        variant_specs(
            {"ModelPackageName": "a", "ChallengerModelPackageName": "b", "ShadowModelPackageName": "c"}, "cfg.json"
        )
    with pytest.raises(UsageError, match="PrimaryVariantWeight must be a number of at least 0, got '-1'"):
        variant_specs({"ModelPackageName": "a", "ChallengerModelPackageName": "b", "PrimaryVariantWeight": "-1"}, "c")


def test_a_new_fleet_takes_its_share_and_keeps_its_own_metrics(home: Path) -> None:
    paths = deploy(home, register(home, train_booster()))
    app = app_of(home, paths)
    current = read_deployment(paths)
    assert current is not None
    config = parse_endpoint_config(
        json.loads(write_config(home / "new.json", register(home, train_booster(offset=5.0))).read_text()), "new.json"
    )
    settings = settings_module.load(home)
    _, fleet = prepare_deployment(config, settings, source="new.json", previous=current)
    write_deployment(paths, replace(current, generation=2, new_fleet=fleet, new_share=0.2))
    assert app.reload() is True
    n = 2000
    packages = [call(app)[1]["x-showcase-model-package"] for _ in range(n)]
    new_count = sum(package.endswith("/2") for package in packages)
    assert within_binomial_bound(new_count, n, 0.2)
    variants = app.metrics.snapshot()["variants"]
    assert variants["2/AllTraffic"]["requests"] == new_count and variants["1/AllTraffic"]["requests"] == n - new_count


def test_a_model_answering_inf_fails_every_request_with_a_5xx(home: Path) -> None:
    app = app_of(home, deploy(home, register(home, broken_model())))
    status, _, text = call(app, "/invocations")
    assert status == 500 and b"answered inf for row 1, not a finite number" in text
    status, headers, body = call(app)
    assert status == 424 and headers["x-amzn-errortype"] == "ModelError"
    assert json.loads(body)["OriginalStatusCode"] == 500
    counters = app.metrics.snapshot()["variants"]["1/AllTraffic"]
    assert counters["requests"] == 2 and counters["errors_5xx"] == 2
