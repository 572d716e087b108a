"""The local endpoint refuses a pickled model (what XGBoost images before 1.3-1 write) without unpickling it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from showcase.serving.errors import ModelLoadError
from showcase.serving.model import image_version, load_model

IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


class Tripwire:
    """Unpickling this would record it: the refusal must come from the bytes alone."""

    loaded: list[str] = []  # noqa: RUF012

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Tripwire.loaded.append, ("unpickled",))


def test_a_pickled_model_is_refused_naming_the_image_version_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(Tripwire()))
    with pytest.raises(ModelLoadError) as refused:
        load_model(tmp_path, model_package_arn="arn:aws:sagemaker:us-east-1:0:model-package/g/1", image=IMAGE)
    message = str(refused.value)
    assert "xgboost-model is a Python pickle, as the built-in XGBoost image 1.0-1 writes it" in message
    assert "train with image 1.3-1 or later" in message and "\n" not in message
    assert Tripwire.loaded == []


def test_image_versions_are_read_from_the_tag() -> None:
    assert image_version(IMAGE) == "1.0-1"
    assert image_version("1234.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-2") == "1.2-2"
    assert image_version("") is None
