"""The XGBoost image's job: train with the built-in algorithm, log each round as the container does.

Inside the job process, ``run(ROOT, IMAGE_URI)`` reads ``input/config`` and the channels under ``ROOT``, trains
(``xgboost_algorithm``) and writes ``model/xgboost-model``; a failure goes to ``output/failure`` with the
container's prefix (``ClientError:`` for data or hyperparameters it rejects, ``AlgorithmError:`` for anything
else). The runner reads the round lines the job writes (``round_metrics``, ``FinalMetrics``): the format is the
image's, so it is kept here beside the job that writes it.
"""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

from showcase.local.images.job import failed, read_json
from showcase.serving.versions import writes_pickle

_ROUND = re.compile(r"^\[(\d+)\]#011(.*)$")


def round_metrics(line: str) -> tuple[int, dict[str, float]] | None:
    """``(round, {"train:rmse": 2.1, ...})`` from a per-round line of the algorithm's log, else None."""
    match = _ROUND.match(line.rstrip("\n"))
    if not match:
        return None
    values = {}
    for part in match.group(2).split("#011"):
        name, colon, value = part.partition(":")
        channel, dash, metric = name.partition("-")
        if colon and dash:
            try:
                values[f"{channel}:{metric}"] = float(value)
            except ValueError:
                continue
    return int(match.group(1)), values


class FinalMetrics:
    """The last value of each metric the algorithm logged: fed each line of the job's output by the runner."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def read(self, line: str) -> None:
        found = round_metrics(line)
        if found is not None:
            self.values.update(found[1])


def run(root: Path, image: str) -> int:
    """The job: train on the channels under ``root`` as the image of ``image`` does; its exit code."""
    failure = root / "output" / "failure"
    try:
        import_xgboost()
        from showcase.local.images import xgboost_algorithm as algorithm
        from showcase.local.images.hyperparameters import HyperparameterError, notes, validate

        try:
            config = root / "input" / "config"
            hyperparameters = validate(read_json(config / "hyperparameters.json"), image)
            for note in notes(hyperparameters):
                print(note, flush=True)
            channels = {}
            for name, spec in read_json(config / "inputdataconfig.json").items():
                kind = algorithm.content_kind(spec.get("ContentType"))
                weights = hyperparameters.get("csv_weights") == 1
                channels[name] = algorithm.load_channel(name, root / "input" / "data" / name, kind, csv_weights=weights)
            if "train" not in channels:
                raise algorithm.AlgorithmClientError("the 'train' channel is required (InputDataConfig has none)")
            algorithm.train(hyperparameters, channels, root / "model", sys.stdout, pickled=writes_pickle(image))
        except (HyperparameterError, algorithm.AlgorithmClientError) as exc:
            return failed(failure, f"ClientError: {exc}")
    except Exception as exc:  # the container's catch-all: any other error is the algorithm's
        traceback.print_exc()
        return failed(failure, f"AlgorithmError: {type(exc).__name__}: {exc}")
    return 0


def import_xgboost() -> None:
    """XGBoost without scikit-learn: xgboost imports it for its scikit-learn estimators alone, which the
    algorithm does not use, and that import is most of a job's start-up (about 1 s of 1.5 s). A loader that
    needs scikit-learn (libsvm) imports it itself afterwards."""
    blocked = "sklearn" not in sys.modules
    if blocked:
        sys.modules["sklearn"] = None  # type: ignore[assignment]
    try:
        import xgboost  # noqa: F401
    finally:
        if blocked:
            del sys.modules["sklearn"]
