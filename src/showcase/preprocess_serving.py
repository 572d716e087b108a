"""The preprocessing container's inference script: the raw Abalone record in, PrepareData's encoding of it out.

With ``inference_pipeline=True`` the showcase pipeline registers an inference pipeline: this script, in the
scikit-learn serving container (the serving contract: ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``),
in front of the built-in XGBoost container. PrepareData writes its model archive (``write_model``):
``preprocessing.json`` (the fitted one-hot categories and the train split's scaler) and ``code/`` holding this
script and ``preprocess.py``, whose ``format_rows`` writes a record's features byte for byte as the splits hold
them. A record is the sex as a letter then the seven measurements, as in ``abalone.data`` without the rings.
It imports nothing from the project: ``preprocess`` is the file beside it, in the container as in the job.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import preprocess  # the script beside this one, where it runs (not showcase.preprocess: nothing of the project)

MODEL_FILE = "preprocessing.json"
PROGRAM = "inference.py"
ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": PROGRAM,
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
}
"""The container's environment: the script in the archive's ``code/``, answering CSV to the XGBoost container."""


def write_model(directory: Path, mean: np.ndarray, scale: np.ndarray) -> Path:
    """``directory/model.tar.gz``: the fitted preprocessing and the code that serves it (same bytes each run)."""
    document = {
        "sex": list(preprocess.SEXES),
        "numeric": list(preprocess.NUMERIC),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
    }
    members = {
        MODEL_FILE: (json.dumps(document, indent=2) + "\n").encode(),
        f"code/{PROGRAM}": Path(__file__).read_bytes(),
        "code/preprocess.py": Path(preprocess.__file__).read_bytes(),
    }
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "model.tar.gz"
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def model_fn(model_dir: str) -> dict[str, Any]:
    document = json.loads((Path(model_dir) / MODEL_FILE).read_text())
    return {
        "sex": {letter: index for index, letter in enumerate(document["sex"])},
        "mean": np.array(document["mean"], dtype=np.float64),
        "scale": np.array(document["scale"], dtype=np.float64),
    }


def input_fn(body: bytes, content_type: str) -> list[list[str]]:
    if content_type.split(";")[0].strip().lower() != "text/csv":
        raise ValueError(f"send raw Abalone records as text/csv, not {content_type}")
    return [line.split(",") for line in body.decode("utf-8").splitlines() if line.strip()]


def predict_fn(records: list[list[str]], model: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The records' scaled measurements and one-hot rows; ValueError naming the first record that is not one."""
    width = len(model["mean"])
    sexes, values = [], []
    for number, fields in enumerate(records, start=1):
        sex = fields[0].strip()
        if len(fields) != width + 1 or sex not in model["sex"]:
            letters = ", ".join(model["sex"])
            raise ValueError(f"record {number}: expected the sex ({letters}) then {width} measurements, got {fields}")
        sexes.append(model["sex"][sex])
        values.append([float(field) for field in fields[1:]])
    return (np.array(values) - model["mean"]) / model["scale"], np.array(sexes, dtype=np.intp)


def output_fn(prediction: tuple[np.ndarray, np.ndarray], accept: str) -> tuple[bytes, str]:
    """PrepareData's text of each record's features (``format_rows`` less the label's field), as CSV."""
    scaled, sexes = prediction
    if not len(scaled):
        return b"", "text/csv"
    fields = np.column_stack([np.zeros(len(scaled)), scaled])
    return preprocess.format_rows(fields, preprocess._ONE_HOT[sexes])[1], "text/csv"
