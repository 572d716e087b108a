"""The built-in XGBoost algorithm, on the host: read channels as the container does, train, save.

Channels: ``train`` (required) and ``validation`` (optional), each a directory of files (hidden files
skipped). ``text/csv``: label in the first column, no header (``csv_weights=1``: weight in the second);
``text/libsvm`` / ``text/x-libsvm`` (the default when a channel has no ContentType, as the container).
Per-round evaluation lines go to the log in the container's CloudWatch form
(``[3]#011train-rmse:2.10000#011validation-rmse:2.30000``). The model is saved as ``xgboost-model`` the
way the image of the step's tag saves it: with ``Booster.save_model`` (XGBoost's UBJSON format) from 1.3-1
on, with pickle before (``showcase.serving.versions.writes_pickle``), so that an evaluate script written for
its image works unchanged. It is unpickled only in a Transform job or an endpoint worker, with the permission
its runner or deploy gave (``showcase.registry.provenance``).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import xgboost

from showcase.errors import ShowcaseError
from showcase.local.images.hyperparameters import booster_params

CONTENT_TYPES = {
    "text/csv": "csv",
    "csv": "csv",
    "text/libsvm": "libsvm",
    "text/x-libsvm": "libsvm",
    "libsvm": "libsvm",
}
DEFAULT_CONTENT_TYPE = "text/libsvm"
MODEL_FILE = "xgboost-model"


class AlgorithmClientError(ShowcaseError):
    """What the container reports as ``ClientError``: the data or configuration is wrong."""


def content_kind(content_type: str | None) -> str:
    """``csv`` or ``libsvm`` for a channel's ContentType (parameters such as ``;label_size=1`` ignored)."""
    base = (content_type or DEFAULT_CONTENT_TYPE).split(";")[0].strip().lower()
    kind = CONTENT_TYPES.get(base)
    if kind is None:
        raise AlgorithmClientError(
            f"Content type {content_type} is not supported by the local stand-in for the XGBoost algorithm; "
            f"use one of {', '.join(sorted(CONTENT_TYPES))}"
        )
    return kind


class DenseChannel:
    """A CSV channel's rows as read, float32: features, label and weights (views of one array).

    ``matrix`` hands them to XGBoost and lets them go: when training builds histograms (the ``hist`` method,
    XGBoost's default), as a ``QuantileDMatrix``, which quantises the rows into their bins without a float copy
    of the whole set (the model is the same as from a ``DMatrix``, byte for byte: ``tests/test_xgboost_data.py``);
    else as the ``DMatrix`` the container builds.
    """

    def __init__(self, name: str, features: np.ndarray, label: np.ndarray, weight: np.ndarray | None) -> None:
        self.name = name
        self._rows: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = (features, label, weight)

    def matrix(self, bins: int | None, ref: xgboost.DMatrix | None = None) -> xgboost.DMatrix:
        if self._rows is None:
            raise RuntimeError(f"channel '{self.name}' was already handed to XGBoost")
        features, label, weight = self._rows
        try:
            if bins is None:
                matrix = xgboost.DMatrix(features, label=label, weight=weight)
            else:
                matrix = xgboost.QuantileDMatrix(features, label=label, weight=weight, max_bin=bins, ref=ref)
        except xgboost.core.XGBoostError as exc:
            raise AlgorithmClientError(f"Channel '{self.name}': could not read the data as csv: {exc}") from exc
        self._rows = None  # the rows are XGBoost's now: only its matrix stays in memory while training
        return matrix


Channel = DenseChannel | xgboost.DMatrix


def load_channel(name: str, directory: Path, kind: str, *, csv_weights: bool = False) -> Channel:
    files = sorted(path for path in directory.rglob("*") if path.is_file() and not path.name.startswith("."))
    if not files:
        raise AlgorithmClientError(f"No data found in channel '{name}' ({directory})")
    try:
        if kind == "csv":
            return _csv(name, files, csv_weights)
        return _libsvm(files)
    except (ValueError, IndexError, pd.errors.ParserError, xgboost.core.XGBoostError) as exc:
        raise AlgorithmClientError(f"Channel '{name}': could not read the data as {kind}: {exc}") from exc


def training_matrices(
    channels: Mapping[str, Channel], hyperparameters: Mapping[str, Any]
) -> dict[str, xgboost.DMatrix]:
    """Each channel as the matrix training reads; a validation channel shares the train channel's bins."""
    bins = _histogram_bins(hyperparameters)
    train = channels["train"]
    matrices = {"train": train.matrix(bins) if isinstance(train, DenseChannel) else train}
    ref = matrices["train"] if isinstance(matrices["train"], xgboost.QuantileDMatrix) else None
    for name, channel in channels.items():
        if name == "train":
            continue
        if isinstance(channel, DenseChannel):
            matrices[name] = channel.matrix(bins if ref is not None else None, ref)
        else:
            matrices[name] = channel
    return matrices


def _histogram_bins(hyperparameters: Mapping[str, Any]) -> int | None:
    """``max_bin`` when training quantises the rows into histograms (``hist``, also what ``auto`` means), else None."""
    booster, method = hyperparameters.get("booster", "gbtree"), hyperparameters.get("tree_method", "auto")
    if booster == "gblinear" or method not in ("auto", "hist") or "updater" in hyperparameters:
        return None
    return int(hyperparameters.get("max_bin", 256))


def _csv(name: str, files: list[Path], csv_weights: bool) -> DenseChannel:
    # pandas' C parser straight to float32 (what a DMatrix holds): as fast as the container's own loader,
    # DMatrix("<path>?format=csv&label_column=0"), or faster (benchmarks/data_path.py measures both).
    frames = [pd.read_csv(file, header=None, dtype=np.float32) for file in files if file.stat().st_size]
    if not frames:
        raise ValueError("every file is empty")
    data = (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)).to_numpy()
    del frames
    first_feature = 2 if csv_weights else 1
    if data.shape[1] <= first_feature:
        raise ValueError(f"expected a label column and at least one feature, got {data.shape[1]} column(s)")
    weights = data[:, 1] if csv_weights else None
    return DenseChannel(name, data[:, first_feature:], data[:, 0], weights)


def _libsvm(files: list[Path]) -> xgboost.DMatrix:
    from sklearn.datasets import load_svmlight_files

    loaded = load_svmlight_files([str(file) for file in files], zero_based=True, dtype=np.float32)
    features = [loaded[i] for i in range(0, len(loaded), 2)]
    labels = [loaded[i] for i in range(1, len(loaded), 2)]
    import scipy.sparse

    return xgboost.DMatrix(scipy.sparse.vstack(features).tocsr(), label=np.concatenate(labels))


class _LogRounds(xgboost.callback.TrainingCallback):
    """Writes each round's line as the container does; ends training after the round in which ``stop`` was set."""

    def __init__(self, log: TextIO, stop: threading.Event) -> None:
        self.log = log
        self.stop = stop
        self.last: dict[str, float] = {}

    def after_iteration(self, model: Any, epoch: int, evals_log: Mapping[str, Mapping[str, Any]]) -> bool:
        self.last = {
            f"{data}:{metric}": float(values[-1])
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        }
        parts = [f"{name.replace(':', '-')}:{value:.5f}" for name, value in self.last.items()]
        self.log.write(f"[{epoch}]#011" + "#011".join(parts) + "\n")
        return self.stop.is_set()


@contextmanager
def _stopped_by_sigterm() -> Iterator[threading.Event]:
    """An event set by SIGTERM while training, in the job process's main thread: StopTrainingJob's signal, on
    which SageMaker's built-in algorithms save the model trained so far, which is then uploaded. Elsewhere
    (a thread, a test calling ``train``) no handler is installed and the event is never set."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def train(
    hyperparameters: Mapping[str, Any],
    channels: Mapping[str, Channel],
    model_dir: Path,
    log: TextIO,
    *,
    pickled: bool = False,
) -> dict[str, float]:
    """Train, save ``model_dir/xgboost-model`` (``pickled``: as images before 1.3-1 do); return the last
    round's metrics (``validation:rmse``, ...)."""
    early_stopping = hyperparameters.get("early_stopping_rounds")
    if early_stopping is not None and "validation" not in channels:
        raise AlgorithmClientError("early_stopping_rounds needs a 'validation' channel")
    params = booster_params(hyperparameters, nthread=os.cpu_count() or 1)
    matrices = training_matrices(channels, hyperparameters)
    evals = [(matrices[name], name) for name in ("train", "validation") if name in matrices]
    # From the first round to the model's rename into place, SIGTERM only asks training to end: a stop that comes
    # at any point still leaves a whole xgboost-model, never a cut or misnamed one.
    with _stopped_by_sigterm() as stop:
        logger = _LogRounds(log, stop)
        try:
            booster = xgboost.train(
                params,
                matrices["train"],
                num_boost_round=int(hyperparameters["num_round"]),
                evals=evals,
                early_stopping_rounds=early_stopping,
                verbose_eval=False,
                callbacks=[logger],
            )
        except xgboost.core.XGBoostError as exc:
            raise AlgorithmClientError(f"XGBoost failed: {str(exc).strip().splitlines()[0]}") from exc
        if stop.is_set():
            log.write(f"stopped (SIGTERM) after {booster.num_boosted_rounds()} round(s): saving the model so far\n")
        # Still under the handler: a SIGTERM that comes once training has ended waits for the model to be saved.
        _save(booster, model_dir, pickled=pickled)
    log.write(f"saved {MODEL_FILE} with {'pickle' if pickled else 'Booster.save_model'}\n")
    log.flush()
    return logger.last


def _save(booster: xgboost.Booster, model_dir: Path, *, pickled: bool) -> None:
    """``model_dir/xgboost-model``, written beside the model directory and renamed into it: the directory, which
    is uploaded as the model, only ever holds the whole file."""
    model_dir.mkdir(parents=True, exist_ok=True)
    # The extension picks XGBoost's UBJSON format without a warning; the container's file name has none.
    partial = model_dir.parent / f".{MODEL_FILE}.{os.getpid()}.ubj"
    try:
        if pickled:
            partial.write_bytes(pickle.dumps(booster))
        else:
            booster.save_model(partial)
        os.replace(partial, model_dir / MODEL_FILE)
    finally:
        partial.unlink(missing_ok=True)
