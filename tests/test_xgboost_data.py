"""The local XGBoost algorithm's channels: quantised once into a QuantileDMatrix when training builds histograms,
with the same model, byte for byte, and the same round lines as XGBoost trained on the container's DMatrix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

from showcase.local.images import xgboost_algorithm as algorithm

PIPELINE = {"num_round": 12, "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.7}


def write_channel(directory: Path, rows: np.ndarray) -> Path:
    directory.mkdir(parents=True)
    text = "\n".join(",".join("" if np.isnan(v) else f"{v:.6g}" for v in row) for row in rows) + "\n"
    (directory / "part.csv").write_text(text)
    return directory


def rows(seed: int, count: int, weights: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(count, 6))
    features[rng.random(features.shape) < 0.03] = np.nan  # missing values take each split's default branch
    label = 8 + 2 * np.nan_to_num(features[:, 0]) - np.nan_to_num(features[:, 1]) + rng.normal(size=count)
    columns = [label[:, None], *([rng.random((count, 1)) + 0.5] if weights else []), features]
    return np.hstack(columns)


def reference(hyperparameters: dict[str, Any], train: np.ndarray, validation: np.ndarray | None, weights: bool):
    """xgboost.train on DMatrix objects of the float32 rows, as the container's loader builds them."""
    first = 2 if weights else 1
    data = train.astype(np.float32)
    dtrain = xgboost.DMatrix(data[:, first:], label=data[:, 0], weight=data[:, 1] if weights else None)
    evals = [(dtrain, "train")]
    if validation is not None:
        valid = validation.astype(np.float32)
        weight = valid[:, 1] if weights else None
        evals.append((xgboost.DMatrix(valid[:, first:], label=valid[:, 0], weight=weight), "validation"))
    params = {k: v for k, v in hyperparameters.items() if k not in ("num_round", "early_stopping_rounds")}
    result: dict[str, Any] = {}
    booster = xgboost.train(
        {**params, "nthread": 2},
        dtrain,
        num_boost_round=hyperparameters["num_round"],
        evals=evals,
        evals_result=result,
        early_stopping_rounds=hyperparameters.get("early_stopping_rounds"),
        verbose_eval=False,
    )
    return bytes(booster.save_raw(raw_format="ubj")), result


@pytest.mark.parametrize(
    ("extra", "weights", "validation"),
    [
        ({}, False, False),
        ({}, False, True),
        ({"early_stopping_rounds": 3, "num_round": 40}, False, True),
        ({}, True, True),
        ({"max_bin": 32, "tree_method": "hist"}, False, True),
        ({"tree_method": "approx"}, False, True),
    ],
)
def test_the_model_is_what_xgboost_trains_on_a_dmatrix(
    tmp_path: Path, extra: dict[str, Any], weights: bool, validation: bool
) -> None:
    hyperparameters = {**PIPELINE, **extra}
    if weights:
        hyperparameters["csv_weights"] = 1
    train_rows, valid_rows = rows(1, 2500, weights), rows(2, 800, weights) if validation else None
    channels = {"train": algorithm.load_channel("train", write_channel(tmp_path / "train", train_rows), "csv",
                                                csv_weights=weights)}  # fmt: skip
    if valid_rows is not None:
        valid_dir = write_channel(tmp_path / "validation", valid_rows)
        channels["validation"] = algorithm.load_channel("validation", valid_dir, "csv", csv_weights=weights)
    log = io.StringIO()
    algorithm.train({k: v for k, v in hyperparameters.items() if k != "csv_weights"}, channels, tmp_path / "model", log)
    # The rows are read back as the job reads them (6 significant digits in the file), then compared.
    written = np.genfromtxt(tmp_path / "train" / "part.csv", delimiter=",")
    written_valid = np.genfromtxt(tmp_path / "validation" / "part.csv", delimiter=",") if validation else None
    model, result = reference(
        {k: v for k, v in hyperparameters.items() if k != "csv_weights"}, written, written_valid, weights
    )
    assert (tmp_path / "model" / algorithm.MODEL_FILE).read_bytes() == model
    last = log.getvalue().splitlines()[-2]  # the last round line, before "saved ..."
    expected = "#011".join(f"{name}-rmse:{values['rmse'][-1]:.5f}" for name, values in result.items())
    assert last.endswith(expected)


def test_which_matrix_each_method_gets(tmp_path: Path) -> None:
    def matrices(hyperparameters: dict[str, Any]) -> dict[str, xgboost.DMatrix]:
        directory = tmp_path / str(len(list(tmp_path.iterdir())))
        channels = {
            "train": algorithm.load_channel("train", write_channel(directory / "t", rows(3, 300)), "csv"),
            "validation": algorithm.load_channel("validation", write_channel(directory / "v", rows(4, 50)), "csv"),
        }
        return algorithm.training_matrices(channels, hyperparameters)

    hist = matrices({})
    assert all(isinstance(matrix, xgboost.QuantileDMatrix) for matrix in hist.values())
    for other in ({"tree_method": "exact"}, {"booster": "gblinear"}, {"tree_method": "approx"}):
        assert not any(isinstance(matrix, xgboost.QuantileDMatrix) for matrix in matrices(other).values())


def test_a_missing_label_is_a_client_error_naming_the_channel(tmp_path: Path) -> None:
    data = rows(5, 20)
    data[3, 0] = np.nan
    channel = algorithm.load_channel("train", write_channel(tmp_path / "train", data), "csv")
    with pytest.raises(algorithm.AlgorithmClientError, match="Channel 'train': could not read the data as csv"):
        algorithm.train(PIPELINE, {"train": channel}, tmp_path / "model", io.StringIO())
