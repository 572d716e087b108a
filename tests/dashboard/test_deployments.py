"""The endpoint page on real endpoints: variants and their shares, a promotion approved with the button (recorded in
the registry, then deployed by a process of its own), a rollback and why, and model quality over time."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from showcase import settings as settings_module
from showcase.dashboard import create_app
from showcase.dashboard.local_source import LocalSource
from showcase.monitoring.ground_truth import ground_truth_record
from showcase.monitoring.quality_runs import run_model_quality
from showcase.registry import Registry
from showcase.serving.deployment import read_deployment
from showcase.serving.rollout import list_deployments
from showcase.store import ObjectStore
from tests.dashboard.conftest import ORIGIN
from tests.serving_support import broken_model, cli, register, serving, train_booster, write_config
from tests.test_rollout import Load

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_promote_with_the_button_then_see_a_rollback_and_model_quality(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = ObjectStore(home / "store")
    evaluation = store.put_bytes(
        "s3://showcase-local/evaluation/evaluation.json",
        json.dumps({"regression_metrics": {"mse": {"value": 1.0}}}).encode(),
    )
    metrics = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation}}}
    old = register(home, train_booster(), model_metrics=metrics)
    new = register(home, train_booster(offset=5.0), model_metrics=metrics)
    challenger = register(home, train_booster(offset=1.0))
    staging = write_config(
        home / "staging.json",
        new,
        name="staging",
        ChallengerModelPackageName=challenger,
        PrimaryVariantWeight="3",
        ChallengerVariantWeight="1",
    )
    prod = write_config(
        home / "prod.json",
        old,
        name="prod",
        DeploymentStrategy="CANARY",
        CanarySizePercent="50",
        BakingPeriodSeconds="1",
        EnableDataCapture="true",
        SamplingPercentage="100",
    )
    settings = settings_module.load(home)
    with serving(home, staging, workers=1), serving(home, prod, workers=1) as production:
        client = TestClient(create_app(LocalSource(settings)), base_url=ORIGIN)
        page = client.get("/endpoints/staging").text
        assert 'data-variant="AllTraffic"' in page and "75%" in page and "25%" in page
        assert '<option value="prod">prod</option>' in page

        refused = client.post("/endpoints/staging/promote", data={"target": "prod"}, headers={"Origin": ORIGIN})
        assert refused.status_code == 400 and "give the approver" in refused.text
        answer = client.post(
            "/endpoints/staging/promote",
            data={"target": "prod", "approver": "ana", "comment": "staging test passed"},
            headers={"Origin": ORIGIN},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"].startswith("/endpoints/prod?changed=approved")
        life_cycle = Registry(home / "registry.sqlite").describe_model_package(ModelPackageName=new)["ModelLifeCycle"]
        assert life_cycle["Stage"] == "prod" and life_cycle["StageStatus"] == "Approved"
        assert "ana" in life_cycle["StageDescription"] and "staging test passed" in life_cycle["StageDescription"]
        for _ in range(600):  # the promotion runs in a process of its own
            records = list_deployments(production.paths)
            if records and records[0]["Outcome"]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError((home / "endpoints" / "prod" / "promote.log").read_text())
        page = client.get("/endpoints/prod").text
        served = read_deployment(production.paths)
        assert served is not None and served.model_package_arn == new
        assert 'data-outcome="Succeeded"' in page and "prod: Approved (approved by ana at " in page

        with Load(production.port, clients=2, endpoint_name="prod") as load:
            load.wait_for(20)
        labels = [ground_truth_record(sent.inference_id, float(sent.body) - 3.0) for sent in load.sent]
        store.put_bytes(
            f"s3://showcase-local/ground-truth/prod/{datetime.now(timezone.utc):%Y/%m/%d/%H}/labels.jsonl",
            "".join(json.dumps(label) + "\n" for label in labels).encode(),
        )
        run = run_model_quality(
            settings, store, Registry(home / "registry.sqlite"), "prod",
            ground_truth_uri="s3://showcase-local/ground-truth/prod",
        )  # fmt: skip

        broken = register(home, broken_model())
        config = write_config(
            home / "broken.json", broken, name="prod", DeploymentStrategy="CANARY", BakingPeriodSeconds="30"
        )
        with Load(production.port, clients=2, endpoint_name="prod"):
            result = cli(home, "deploy", "--config", str(config))
        assert result.returncode == 1, result.stderr
        page = client.get("/endpoints/prod").text
    assert run["cloudwatch_metrics"]["mse"] == pytest.approx(9.0)
    assert 'data-outcome="RolledBack"' in page
    assert "Why: alarm prod-invocation-5xx-errors is in ALARM" in page
    assert f'data-run="{run["run_id"]}" data-status="CompletedWithViolations"' in page
    assert 'aria-label="mse of each model-quality run"' in page and "Metric mse with 9 was GreaterThanThreshold" in page
