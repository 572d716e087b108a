"""The endpoint's defaults, as SageMaker's XGBoost container has them: port 8080 unless SAGEMAKER_BIND_TO_PORT says
otherwise, SAGEMAKER_MODEL_SERVER_WORKERS workers else one per CPU, and one prediction thread in each worker."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from showcase.errors import UsageError
from showcase.serving.model import load_model
from showcase.serving.server import port_from_env, workers_from_env
from tests.serving_support import ROW, register, serving, train_booster, write_config


@pytest.fixture()
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("SAGEMAKER_BIND_TO_PORT", raising=False)
    monkeypatch.delenv("SAGEMAKER_MODEL_SERVER_WORKERS", raising=False)
    return monkeypatch


def test_port_is_8080_unless_the_environment_or_the_flag_says_otherwise(bare_environment: pytest.MonkeyPatch) -> None:
    assert port_from_env(None) == 8080
    bare_environment.setenv("SAGEMAKER_BIND_TO_PORT", "9123")
    assert port_from_env(None) == 9123
    assert port_from_env(7000) == 7000
    bare_environment.setenv("SAGEMAKER_BIND_TO_PORT", "99999")
    with pytest.raises(UsageError, match="SAGEMAKER_BIND_TO_PORT must be a port number, got '99999'"):
        port_from_env(None)


def test_one_worker_per_cpu_unless_the_environment_or_the_flag_says_otherwise(
    bare_environment: pytest.MonkeyPatch,
) -> None:
    assert workers_from_env(None) == os.cpu_count()
    bare_environment.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "3")
    assert workers_from_env(None) == 3
    assert workers_from_env(1) == 1
    bare_environment.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "0")
    with pytest.raises(UsageError, match="SAGEMAKER_MODEL_SERVER_WORKERS must be a whole number of at least 1"):
        workers_from_env(None)


def test_the_loaded_model_predicts_on_one_thread(tmp_path: Path) -> None:
    """What each worker serves: XGBoost's prediction threads for the booster are set to one."""
    (tmp_path / "xgboost-model").write_bytes(bytes(train_booster().save_raw(raw_format="ubj")))
    config = json.loads(load_model(tmp_path).booster.save_config())
    assert config["learner"]["generic_param"]["nthread"] == "1"


def test_a_server_configured_by_the_environment(tmp_path: Path) -> None:
    """No --port and no --workers: the port comes from SAGEMAKER_BIND_TO_PORT (0, so the system picks one: not
    8080) and three workers from SAGEMAKER_MODEL_SERVER_WORKERS."""
    config = write_config(tmp_path / "c.json", register(tmp_path, train_booster()))
    with serving(tmp_path, config, workers=3, from_environment=True) as running:
        assert running.port != 8080
        assert len(running.workers()) == 3
        assert running.invoke(ROW)[0] == 200
