"""Step caching: a second run reuses properties (status Cached, no job); changes to key inputs rerun."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import DefinitionError
from showcase.local.cache import cache_key, expire_after
from showcase.local.steps import STEP_TYPES
from tests.local_fakes import Harness, definition, get, parameter, processing, training

DATA = "s3://bucket/input/data.csv"
CACHE = {"Enabled": True, "ExpireAfter": "P30D"}


def pipeline(cache: dict[str, Any] | None = CACHE, depth: str = "5") -> dict[str, Any]:
    prep = processing("Prep", outputs=("train",), inputs={"data": DATA}, CacheConfig=cache)
    train = training(
        "Train",
        get("Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"),
        hyperparameters={"max_depth": get("Parameters.MaxDepth")},
        CacheConfig=cache,
    )
    return definition([prep, train], [parameter("MaxDepth", "String", depth)])


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    h = Harness(tmp_path)
    h.store.put_bytes(DATA, b"1,2,3\n")
    return h


def test_a_second_run_is_cached_and_runs_no_job(harness: Harness) -> None:
    first = harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    calls = harness.calls()
    second = harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    assert harness.calls() == calls == 2
    assert [s.status for s in second.steps] == ["Cached", "Cached"]
    assert second.status == "Succeeded"
    # SageMaker semantics: a hit points at the earlier execution's outputs.
    assert second.step("Train").properties == first.step("Train").properties
    assert second.step("Prep").cached_from == first.execution_id


def test_changed_input_data_at_the_same_uri_is_never_a_stale_hit(harness: Harness) -> None:
    harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    harness.store.put_bytes(DATA, b"4,5,6\n")
    second = harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    assert second.step("Prep").status == "Succeeded"
    assert harness.executors["Processing"].called("Prep") == 2


def test_a_changed_hyperparameter_reruns_only_that_step(harness: Harness) -> None:
    harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    second = harness.engine.start(pipeline(), pipeline_name="P", parameters={"MaxDepth": "6"})
    assert [s.status for s in second.steps] == ["Cached", "Succeeded"]


def test_caching_is_per_pipeline(harness: Harness) -> None:
    harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    other = harness.engine.start(pipeline(), pipeline_name="Q", parameters={})
    assert [s.status for s in other.steps] == ["Succeeded", "Succeeded"]


@pytest.mark.parametrize("cache", [None, {"Enabled": False}, {"Enabled": True, "ExpireAfter": "PT0S"}])
def test_disabled_or_expired_caches_rerun(harness: Harness, cache: dict[str, Any] | None) -> None:
    harness.engine.start(pipeline(cache), pipeline_name="P", parameters={})
    second = harness.engine.start(pipeline(cache), pipeline_name="P", parameters={})
    assert [s.status for s in second.steps] == ["Succeeded", "Succeeded"]
    assert harness.calls() == 4


def test_failed_runs_are_not_reused(harness: Harness) -> None:
    def broken(context: Any) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    harness.executors["Training"].behaviours["Train"] = broken
    harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    del harness.executors["Training"].behaviours["Train"]
    second = harness.engine.start(pipeline(), pipeline_name="P", parameters={})
    assert [s.status for s in second.steps] == ["Cached", "Succeeded"]


def test_outputs_are_not_in_the_key(harness: Harness) -> None:
    args = {"AppSpecification": {"ImageUri": "i"}, "ProcessingOutputConfig": {"Outputs": [{"S3Uri": "s3://b/e1"}]}}
    other = {**args, "ProcessingOutputConfig": {"Outputs": [{"S3Uri": "s3://b/e2"}]}}
    assert cache_key(STEP_TYPES["Processing"], args, harness.store) == cache_key(
        STEP_TYPES["Processing"], other, harness.store
    )
    changed = {**args, "AppSpecification": {"ImageUri": "j"}}
    assert cache_key(STEP_TYPES["Processing"], args, harness.store) != cache_key(
        STEP_TYPES["Processing"], changed, harness.store
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("PT1H", timedelta(hours=1)),
        ("30dT5h", timedelta(days=30, hours=5)),
        ("T16m", timedelta(minutes=16)),
        ("P1W", timedelta(days=7)),
        (None, None),
    ],
)
def test_expire_after_durations(text: str | None, expected: timedelta | None) -> None:
    assert expire_after(text) == expected


def test_a_bad_expire_after_is_refused() -> None:
    with pytest.raises(DefinitionError, match="ExpireAfter 'thirty days' is not an ISO 8601 duration"):
        expire_after("thirty days")


def test_a_changed_local_input_file_reruns_the_step(harness: Harness, tmp_path: Path) -> None:
    data = tmp_path / "abalone.data"
    data.write_text("M,1\n")
    raw = definition([processing("Prep", container_arguments=[str(data)], CacheConfig=CACHE)])
    harness.engine.start(raw, pipeline_name="P", parameters={})
    assert harness.engine.start(raw, pipeline_name="P", parameters={}).step("Prep").status == "Cached"
    data.write_text("F,2\n")
    assert harness.engine.start(raw, pipeline_name="P", parameters={}).step("Prep").status == "Succeeded"
