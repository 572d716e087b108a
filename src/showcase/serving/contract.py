"""The scikit-learn serving contract, run inside the worker or job process that serves a container.

A container of the scikit-learn image (``sagemaker-scikit-learn``) serves the user's inference script: its entry
point is ``SAGEMAKER_PROGRAM``, its code the model archive's ``code/`` directory (``SAGEMAKER_SUBMIT_DIRECTORY``
``/opt/ml/model/code``, where the SDK's repacking puts it; a directory relative to the model directory, or absent,
means the same). The script is user code: it is imported only in an endpoint worker or a Transform job process,
never in the arbiter or the runner, and its ``model_fn`` loads the model as it likes (a pickle or joblib file is
the script's choice, as in the container). As ``sagemaker_containers`` and the scikit-learn container do:

- ``model_fn(model_dir)`` has no default: a script without one is refused when the container loads.
- ``input_fn(body, content_type)`` defaults to the toolkit's decoders (``application/json``, ``text/csv`` with
  ``np.genfromtxt(..., delimiter=",")``, ``application/x-npy``, ``application/x-npz``), then float32 for the
  UTF-8 types; another content type is answered 415.
- ``predict_fn(data, model)`` defaults to ``model.predict(data)``.
- ``output_fn(prediction, accept)`` defaults to the toolkit's encoders (``application/json``, ``text/csv`` with
  ``np.savetxt(..., fmt="%s")``, ``application/x-npy``), the first of the Accept list that has one; none: 406.
- ``transform_fn(model, body, content_type, accept)`` replaces the other three; a script that also defines any of
  them is refused.

A missing Accept or ``*/*`` is ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default ``application/json``). An
``output_fn``/``transform_fn`` answers bytes or text (its content type is the accept) or ``(body, content_type)``.
``.npy`` bodies are read with ``allow_pickle=False``: a request never unpickles anything.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from showcase.serving.codec import RequestError
from showcase.serving.errors import ModelLoadError

JSON, CSV, NPY, NPZ = "application/json", "text/csv", "application/x-npy", "application/x-npz"
UTF8_TYPES = (JSON, CSV)
CODE_IN_MODEL = "/opt/ml/model/"
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


class UnsupportedFormatError(Exception):
    """A content type or accept the decoders or encoders have nothing for (415 or 406, as sagemaker_containers)."""


def _decode_json(body: bytes) -> Any:
    return np.array(json.loads(body.decode("utf-8")))


def _decode_csv(body: bytes) -> Any:
    return np.genfromtxt(io.StringIO(body.decode("utf-8")), delimiter=",")


def _decode_npy(body: bytes) -> Any:
    return np.load(io.BytesIO(body), allow_pickle=False)


def _decode_npz(body: bytes) -> Any:
    import scipy.sparse

    return scipy.sparse.load_npz(io.BytesIO(body))


def _encode_json(value: Any) -> bytes:
    return json.dumps(np.asarray(value).tolist()).encode()


def _encode_csv(value: Any) -> bytes:
    array = np.asarray(value)
    if array.ndim == 1:
        array = array.reshape(array.shape[0], 1)
    stream = io.StringIO()
    np.savetxt(stream, array, delimiter=",", fmt="%s")
    return stream.getvalue().encode()


def _encode_npy(value: Any) -> bytes:
    stream = io.BytesIO()
    np.save(stream, np.asarray(value), allow_pickle=False)
    return stream.getvalue()


DECODERS: dict[str, Callable[[bytes], Any]] = {JSON: _decode_json, CSV: _decode_csv, NPY: _decode_npy, NPZ: _decode_npz}
ENCODERS: dict[str, Callable[[Any], bytes]] = {JSON: _encode_json, CSV: _encode_csv, NPY: _encode_npy}


def _media(header: str) -> str:
    return header.split(";")[0].strip().lower()


def default_input_fn(body: bytes, content_type: str) -> Any:
    kind = _media(content_type)
    if kind not in DECODERS:
        raise UnsupportedFormatError(f"Content type {content_type} is not supported by this framework")
    data = DECODERS[kind](body)
    return data.astype(np.float32) if kind in UTF8_TYPES else data


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    for kind in (_media(part) for part in accept.split(",")):
        if kind in ENCODERS:
            return ENCODERS[kind](prediction), kind
    raise UnsupportedFormatError(f"Accept {accept} is not supported by this framework")


@dataclass(frozen=True)
class ScriptedContainer:
    """One loaded container of the contract: the user's handlers and the model its ``model_fn`` returned."""

    label: str
    model: Any
    handlers: Mapping[str, Callable[..., Any]]
    default_accept: str

    def answer(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """A request's bytes and content type in, the response's bytes and content type out; raises RequestError
        (415, 406, or 500 when the user's code fails)."""
        accept = self.default_accept if not accept or accept.strip() == "*/*" else accept
        try:
            if "transform_fn" in self.handlers:
                return _response(self.handlers["transform_fn"](self.model, body, content_type, accept), accept)
            try:
                data = self.handlers.get("input_fn", default_input_fn)(body, content_type)
            except UnsupportedFormatError as exc:
                raise RequestError(415, f"{self.label}: {exc}: implement input_fn to decode it") from None
            prediction = self.handlers.get("predict_fn", default_predict_fn)(data, self.model)
            try:
                output = self.handlers.get("output_fn", default_output_fn)(prediction, accept)
            except UnsupportedFormatError as exc:
                raise RequestError(406, f"{self.label}: {exc}: implement output_fn to encode it") from None
            return _response(output, accept)
        except RequestError:
            raise
        except Exception as exc:  # the user's code failed on this request: the container answers 500
            raise RequestError(500, f"{self.label}: {type(exc).__name__}: {str(exc)[:200]}") from None


def _response(output: Any, accept: str) -> tuple[bytes, str]:
    if isinstance(output, tuple) and len(output) == 2:
        body, content_type = output
        return (body.encode() if isinstance(body, str) else bytes(body)), str(content_type)
    if isinstance(output, str):
        return output.encode(), _media(accept.split(",")[0])
    if isinstance(output, bytes | bytearray):
        return bytes(output), _media(accept.split(",")[0])
    raise TypeError(f"the handler returned a {type(output).__name__}, not bytes, text or (body, content_type)")


def code_dir(model_dir: Path, environment: Mapping[str, str]) -> Path:
    """Where the container's script lives: its model archive's ``code/`` (or the directory named, inside it)."""
    submitted = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "").strip()
    if not submitted or submitted.rstrip("/") == CODE_IN_MODEL + "code":
        return model_dir / "code"
    relative = submitted[len(CODE_IN_MODEL) :] if submitted.startswith(CODE_IN_MODEL) else submitted
    if "://" in submitted or Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise ModelLoadError(
            f"SAGEMAKER_SUBMIT_DIRECTORY {submitted} is not served locally: put the code in the model archive's "
            "code/ directory (SAGEMAKER_SUBMIT_DIRECTORY /opt/ml/model/code), as the SDK's repacking does"
        )
    return model_dir / relative


def load_container(model_dir: Path, environment: Mapping[str, str], *, label: str) -> ScriptedContainer:
    """Import the container's script and call its ``model_fn``; raises ModelLoadError naming what is wrong."""
    program = environment.get("SAGEMAKER_PROGRAM", "").strip()
    if not program:
        raise ModelLoadError(f"{label}: Environment.SAGEMAKER_PROGRAM is required: name the inference script")
    script = code_dir(model_dir, environment) / program
    if not script.is_file():
        raise ModelLoadError(f"{label}: no inference script {program} in {script.parent}; put it in code/")
    module = _import(script, label)
    handlers = {name: getattr(module, name) for name in HANDLERS if callable(getattr(module, name, None))}
    if "model_fn" not in handlers:
        raise ModelLoadError(f"{label}: {program}: Please provide a model_fn implementation")
    both = sorted(set(handlers) & {"input_fn", "predict_fn", "output_fn"})
    if "transform_fn" in handlers and both:
        raise ModelLoadError(
            f"{label}: {program} defines transform_fn and {', '.join(both)}: transform_fn replaces input_fn, "
            "predict_fn and output_fn; keep one or the other"
        )
    try:
        model = handlers.pop("model_fn")(str(model_dir))
    except Exception as exc:  # the user's model_fn failed: the container would not start
        raise ModelLoadError(f"{label}: {program}: model_fn failed: {type(exc).__name__}: {exc}") from None
    default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)
    return ScriptedContainer(label, model, handlers, default_accept)


def _import(script: Path, label: str) -> Any:
    name = f"showcase_user_{script.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{label}: cannot import {script.name}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(script.parent))  # its helper modules beside it, as in the container
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed to import
        raise ModelLoadError(f"{label}: importing {script.name} failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(script.parent))
    return module


def main(argv: list[str]) -> int:
    """``python -m showcase.serving.contract MODEL_DIR ENVIRONMENT_JSON LABEL``: load the container in a process
    of its own (the deploying process never imports user code); exit 1 with the reason on stderr."""
    model_dir, environment, label = argv
    try:
        load_container(Path(model_dir), json.loads(environment), label=label)
    except ModelLoadError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
