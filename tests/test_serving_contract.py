"""The scikit-learn serving contract: model_fn required, the toolkit's input/predict/output defaults, overrides,
transform_fn alone, and 415/406 as sagemaker_containers answers them."""

from __future__ import annotations

import io
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from showcase.serving.codec import RequestError
from showcase.serving.containers import FrontSpec, check_front_in_own_process, containers_problems
from showcase.serving.contract import ScriptedContainer, load_container
from showcase.serving.errors import ModelLoadError

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

DOUBLING = """
class Doubling:
    def predict(self, data):
        return data * 2

def model_fn(model_dir):
    return Doubling()
"""


def container(tmp_path: Path, script: str, **environment: str) -> ScriptedContainer:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "inference.py").write_text(textwrap.dedent(script))
    return load_container(tmp_path / "model", {"SAGEMAKER_PROGRAM": "inference.py", **environment}, label="pre")


def test_model_fn_is_required(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="inference.py: Please provide a model_fn implementation"):
        container(tmp_path, "def predict_fn(data, model):\n    return data\n")


def test_transform_fn_together_with_another_handler_is_refused(tmp_path: Path) -> None:
    script = DOUBLING + "\ndef transform_fn(model, body, content_type, accept):\n    return body\n"
    script += "\ndef output_fn(prediction, accept):\n    return b''\n"
    with pytest.raises(ModelLoadError, match="defines transform_fn and output_fn: transform_fn replaces"):
        container(tmp_path, script)


def test_a_missing_program_or_script_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="SAGEMAKER_PROGRAM is required"):
        load_container(tmp_path, {}, label="pre")
    with pytest.raises(ModelLoadError, match="no inference script serve.py in"):
        load_container(tmp_path, {"SAGEMAKER_PROGRAM": "serve.py"}, label="pre")
    environment = {"SAGEMAKER_PROGRAM": "serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": "s3://bucket/sourcedir.tar.gz"}
    with pytest.raises(ModelLoadError, match="SAGEMAKER_SUBMIT_DIRECTORY s3://bucket/sourcedir.tar.gz is not served"):
        load_container(tmp_path, environment, label="pre")


def test_the_default_decoders_cast_utf8_types_to_float32_and_the_default_predict_calls_predict(tmp_path: Path) -> None:
    served = container(tmp_path, DOUBLING)
    body, kind = served.answer(b"1,2.5\n3,4\n", "text/csv", "application/json")
    assert (json.loads(body), kind) == ([[2.0, 5.0], [6.0, 8.0]], "application/json")
    body, kind = served.answer(b"[[0.1, 1]]", "application/json; charset=utf-8", "application/x-npy")
    array = np.load(io.BytesIO(body), allow_pickle=False)
    assert kind == "application/x-npy" and array.dtype == np.float32 and array.tolist() == [[np.float32(0.2), 2.0]]
    npy = io.BytesIO()
    np.save(npy, np.array([1, 2], dtype=np.int64))
    body, _ = served.answer(npy.getvalue(), "application/x-npy", "text/csv")
    assert body == b"2\n4\n"  # npy keeps its dtype (no float32 cast); CSV writes a 1-D answer one per line


def test_accept_negotiation_and_the_default_accept(tmp_path: Path) -> None:
    served = container(tmp_path, DOUBLING)
    assert served.answer(b"1,2", "text/csv", "text/html, text/csv") == (b"2.0\n4.0\n", "text/csv")
    assert served.answer(b"1", "text/csv", None) == (b"2.0", "application/json")
    assert served.answer(b"1", "text/csv", "*/*")[1] == "application/json"
    csv_first = container(tmp_path / "b", DOUBLING, SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT="text/csv")
    assert csv_first.answer(b"1,2", "text/csv", None) == (b"2.0\n4.0\n", "text/csv")


def test_unsupported_content_type_is_415_and_unsupported_accept_is_406(tmp_path: Path) -> None:
    served = container(tmp_path, DOUBLING)
    with pytest.raises(RequestError, match="text/plain is not supported") as refused:
        served.answer(b"1", "text/plain", "application/json")
    assert refused.value.status == 415
    with pytest.raises(RequestError, match="Accept text/html is not supported") as refused:
        served.answer(b"1", "text/csv", "text/html")
    assert refused.value.status == 406


def test_overrides_replace_each_default(tmp_path: Path) -> None:
    script = """
    def model_fn(model_dir):
        return {"offset": 10}

    def input_fn(body, content_type):
        return [int(x) for x in body.decode().split()]

    def predict_fn(data, model):
        return [x + model["offset"] for x in data]

    def output_fn(prediction, accept):
        return " ".join(map(str, prediction)), "text/plain"
    """
    assert container(tmp_path, script).answer(b"1 2", "text/whatever", None) == (b"11 12", "text/plain")


def test_transform_fn_alone_answers_with_the_accept_as_content_type(tmp_path: Path) -> None:
    script = """
    def model_fn(model_dir):
        return open(model_dir + "/word.txt").read()

    def transform_fn(model, body, content_type, accept):
        return model + body.decode()
    """
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "word.txt").write_text("hello ")
    assert container(tmp_path, script).answer(b"you", "text/plain", "text/csv") == (b"hello you", "text/csv")


def test_a_failing_handler_is_a_500_naming_the_container(tmp_path: Path) -> None:
    script = DOUBLING + "\ndef predict_fn(data, model):\n    raise KeyError('column')\n"
    with pytest.raises(RequestError, match="pre: KeyError: 'column'") as failed:
        container(tmp_path, script).answer(b"1", "text/csv", None)
    assert failed.value.status == 500


def test_a_container_is_checked_in_a_process_of_its_own(tmp_path: Path) -> None:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text("raise RuntimeError('boom at import')\n")
    spec = FrontSpec("pre", str(tmp_path / "model"), {"SAGEMAKER_PROGRAM": "inference.py"})
    with pytest.raises(ModelLoadError, match="importing inference.py failed: RuntimeError: boom at import"):
        check_front_in_own_process(spec, model_package_arn="arn:pkg")
    (code / "inference.py").write_text(DOUBLING)
    check_front_in_own_process(spec, model_package_arn="arn:pkg")


@pytest.mark.parametrize(
    ("containers", "execution", "problem"),
    [
        ([{"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://b/a"}, {"Image": XGBOOST_IMAGE}], {"Mode": "Direct"},
         "InferenceExecutionConfig.Mode Direct is not served locally"),
        ([{"Image": XGBOOST_IMAGE, "ModelDataUrl": "s3://b/a"}, {"Image": XGBOOST_IMAGE}], None,
         r"Containers\[0\] image .*sagemaker-xgboost:1.7-1 cannot run before another container locally"),
        ([{"Image": SKLEARN_IMAGE}, {"Image": XGBOOST_IMAGE}], None, r"Containers\[0\] needs a ModelDataUrl"),
        ([{"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://b/a", "ContainerHostname": "pre"}, {"Image": XGBOOST_IMAGE}],
         None, "if any container has a ContainerHostname, all of them must"),
        ([{"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://b/a"}] * 15 + [{"Image": XGBOOST_IMAGE}], None,
         "holds 16 containers; an inference pipeline has 2 to 15"),
    ],
)  # fmt: skip
def test_what_cannot_run_in_sequence_is_refused(
    containers: list[dict[str, str]], execution: object, problem: str
) -> None:
    found = containers_problems(containers, execution, "")
    assert len(found) == 1 and re.search(problem, found[0]), found


def test_serial_containers_of_the_served_images_pass() -> None:
    containers = [{"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://b/a"}, {"Image": XGBOOST_IMAGE}]
    assert containers_problems(containers, {"Mode": "Serial"}, "") == []
