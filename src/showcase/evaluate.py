"""Evaluate the trained XGBoost model on the test split and write evaluation.json.

Runs as a SageMaker Processing job on the XGBoost image, and unchanged in the local runtime.
The model is read from model.tar.gz without extracting the archive to disk: only the regular
file ``xgboost-model`` is read, and it is loaded with ``Booster.load_model`` (never unpickled).

evaluation.json holds ``regression_metrics`` with ``mse``, ``rmse``, ``mae`` and ``r2``, each
``{"value": ...}``, with the ``standard_deviation`` of the per-row squared or absolute error
for ``mse`` and ``mae``, in the shape
SageMaker Model Registry shows as model quality statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

MODEL_FILE = "xgboost-model"


class EvaluationError(Exception):
    """The model or the test data cannot be used; the message says which and why."""


def load_booster(model_dir: Path) -> xgboost.Booster:
    archives = sorted(model_dir.glob("*.tar.gz"))
    if len(archives) != 1:
        raise EvaluationError(f"expected one model archive in {model_dir}, found {len(archives)}")
    try:
        with tarfile.open(archives[0], "r:gz") as archive:
            member = archive.getmember(MODEL_FILE)
            if not member.isfile():
                raise EvaluationError(f"{MODEL_FILE} in {archives[0].name} is not a regular file")
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file always has content
            payload = bytearray(handle.read())
    except KeyError:
        raise EvaluationError(f"{archives[0].name} holds no {MODEL_FILE}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EvaluationError(f"{archives[0].name} is not a readable tar.gz archive: {exc}") from None
    booster = xgboost.Booster()
    try:
        booster.load_model(payload)
    except xgboost.core.XGBoostError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise EvaluationError(f"XGBoost cannot load {MODEL_FILE}: {first_line}") from None
    return booster


def load_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(p for p in test_dir.rglob("*") if p.is_file())
    if not files:
        raise EvaluationError(f"no test data in {test_dir}")
    table = pd.concat([pd.read_csv(p, header=None) for p in files]).to_numpy(dtype=float)
    return table[:, 0], table[:, 1:]


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    errors = actual - predicted
    squared = errors**2
    absolute = np.abs(errors)
    total = float(((actual - actual.mean()) ** 2).sum())
    return {
        "mse": {"value": float(squared.mean()), "standard_deviation": float(squared.std())},
        "rmse": {"value": float(np.sqrt(squared.mean()))},
        "mae": {"value": float(absolute.mean()), "standard_deviation": float(absolute.std())},
        "r2": {"value": 1.0 - float(squared.sum()) / total if total else 0.0},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="container directory holding model.tar.gz")
    parser.add_argument("--test-dir", required=True, help="container directory holding the test CSV")
    parser.add_argument("--output-dir", required=True, help="container directory for evaluation.json")
    args = parser.parse_args(argv)

    try:
        booster = load_booster(Path(args.model_dir))
        labels, features = load_test(Path(args.test_dir))
    except EvaluationError as exc:
        print(f"EvaluateModel: {exc}", file=sys.stderr)
        return 1
    predictions = booster.predict(xgboost.DMatrix(features))
    metrics = regression_metrics(labels, predictions)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {"regression_metrics": metrics, "test_rows": len(labels)}
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"EvaluateModel: {len(labels)} test rows, mse {metrics['mse']['value']:.4f}, "
        f"rmse {metrics['rmse']['value']:.4f}, mae {metrics['mae']['value']:.4f}, r2 {metrics['r2']['value']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
