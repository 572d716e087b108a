"""Train XGBoost by hand, as a person would without any runtime: the training third of the benchmark floor.

Same hyperparameters as the pipeline's defaults, same CSV layout (label first), same artifact
(model.tar.gz holding xgboost-model), so the floor does the work the pipeline's training step does.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

import pandas as pd
import xgboost

PARAMS = {
    "objective": "reg:squarederror",
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.7,
    "seed": 0,
}
ROUNDS = 50


def load(directory: Path) -> xgboost.DMatrix:
    table = pd.concat([pd.read_csv(p, header=None) for p in sorted(directory.glob("*.csv"))]).to_numpy(dtype=float)
    return xgboost.DMatrix(table[:, 1:], label=table[:, 0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--validation", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    args = parser.parse_args()
    train, validation = load(args.train), load(args.validation)
    booster = xgboost.train(PARAMS, train, ROUNDS, evals=[(train, "train"), (validation, "validation")])
    payload = bytes(booster.save_raw("ubj"))
    args.model_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.model_dir / "model.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
