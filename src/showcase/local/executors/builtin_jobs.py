"""The built-in images' jobs as job processes: SageMaker's XGBoost algorithm and Model Monitor's analyzer.

A built-in image's job runs as every other job does (``common.run_job``): in a process of its own, through
the job guard, seeing its directory as ``/opt/ml`` where the host allows it. The runner stages its inputs and
writes its configuration, then starts ``main([IMAGE, ROOT, ...])`` in a fresh interpreter (``command``),
``ROOT`` being ``/opt/ml`` in the container view and the job's directory without it. Inside, the job reads and
writes only what the image's container does, and its data is never held by the runner:

- ``xgboost ROOT IMAGE_URI``: ``input/config/hyperparameters.json`` (strings) and ``inputdataconfig.json``
  (each channel's ContentType), the channels in ``input/data/<channel>``; it writes ``model/xgboost-model``
  (as the image of ``IMAGE_URI``'s tag saves it) and one line per boosting round on stdout in the container's
  form (``[3]#011train-rmse:2.10000#011validation-rmse:2.30000``), which the runner reads as they come
  (``round_metrics``): the last values are the job's FinalMetricDataList, as SageMaker reads them from the
  log, and a tuning job judges its trials by them.
- ``analyzer ROOT``: the Model Monitor analyzer's ``Environment`` (``dataset_source``, ``output_path`` and,
  when checking, ``baseline_statistics`` / ``baseline_constraints``, container paths); it writes
  ``statistics.json``, ``constraints.json`` and, when checking, ``constraint_violations.json`` to ``output_path``.

A failure is written as the container writes it: ``output/failure`` for a training job (``ClientError: ...`` for
data or hyperparameters the algorithm rejects, ``AlgorithmError: ...`` for anything else), ``output/message`` for
a processing job, and the job exits 1: ``common.run_job`` makes it the step's FailureReason.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

MODULE = "showcase.local.executors.builtin_jobs"
_ENTRY = f"import sys; from {MODULE} import main; sys.exit(main(sys.argv[1:]))"
_ROUND = re.compile(r"^\[(\d+)\]#011(.*)$")


def command(image: str, root: str, *arguments: str) -> list[str]:
    """The job process's command line (the runner's side). Not ``-m``: the package imports this module first."""
    return [sys.executable, "-c", _ENTRY, image, root, *arguments]


def environment() -> dict[str, str]:
    """What a built-in job's process adds to its environment: OpenMP threads that sleep, not spin, while they
    wait (unless this environment says otherwise). Trials of a tuning job run side by side, each with a thread
    per core; spinning threads of one process then starve the others' (in one process OpenMP would throttle
    them itself): six small trials two at a time took 18.6 s spinning, 0.4 s sleeping."""
    return {} if "OMP_WAIT_POLICY" in os.environ else {"OMP_WAIT_POLICY": "PASSIVE"}


def argv_of(command: Sequence[str]) -> list[str] | None:
    """``main``'s arguments when ``command`` is a built-in job's (``command``), else None."""
    head = [sys.executable, "-c", _ENTRY]
    return list(command[len(head) :]) if list(command[: len(head)]) == head else None


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
    """The last value of each metric the algorithm logged: fed ``on_line`` by ``common.run_job``."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def read(self, line: str) -> None:
        found = round_metrics(line)
        if found is not None:
            self.values.update(found[1])


# -- inside the job process ---------------------------------------------------------------------------


def xgboost_job(root: Path, image: str) -> int:
    failure = root / "output" / "failure"
    try:
        _import_xgboost()
        from showcase.local.executors import xgboost_algorithm as algorithm
        from showcase.local.executors.hyperparameters import HyperparameterError, validate

        try:
            config = root / "input" / "config"
            hyperparameters = validate(_json(config / "hyperparameters.json"))
            channels = {}
            for name, spec in _json(config / "inputdataconfig.json").items():
                kind = algorithm.content_kind(spec.get("ContentType"))
                weights = hyperparameters.get("csv_weights") == 1
                channels[name] = algorithm.load_channel(name, root / "input" / "data" / name, kind, csv_weights=weights)
            if "train" not in channels:
                raise algorithm.AlgorithmClientError("the 'train' channel is required (InputDataConfig has none)")
            algorithm.train(
                hyperparameters, channels, root / "model", sys.stdout, pickled=algorithm.writes_pickle(image)
            )
        except (HyperparameterError, algorithm.AlgorithmClientError) as exc:
            return _failed(failure, f"ClientError: {exc}")
    except Exception as exc:  # the container's catch-all: any other error is the algorithm's
        traceback.print_exc()
        return _failed(failure, f"AlgorithmError: {type(exc).__name__}: {exc}")
    return 0


def analyzer_job(root: Path) -> int:
    from showcase.local.executors import quality_check

    message = root / "output" / "message"
    try:
        return quality_check.analyze_job(root, os.environ)
    except quality_check.AnalysisError as exc:
        return _failed(message, str(exc))
    except Exception as exc:
        traceback.print_exc()
        return _failed(message, f"{type(exc).__name__}: {exc}")


def preload() -> None:
    """What the jobs import, imported once by the pre-imported job server (``prewarmed``) before it forks them."""
    _import_xgboost()
    import showcase.local.executors.hyperparameters
    import showcase.local.executors.quality_check
    import showcase.local.executors.xgboost_algorithm
    import showcase.monitoring.checks
    import showcase.monitoring.profile
    import showcase.monitoring.statistics  # noqa: F401


def _import_xgboost() -> None:
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


def _json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a JSON object")
    return value


def _failed(path: Path, reason: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason + "\n", encoding="utf-8")
    print(reason, file=sys.stderr)
    return 1


JOBS: Mapping[str, Callable[..., int]] = {"xgboost": xgboost_job, "analyzer": analyzer_job}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in JOBS:
        print(f"usage: {MODULE}.main([{'|'.join(JOBS)}, ROOT, IMAGE_URI])", file=sys.stderr)
        return 2
    return JOBS[argv[0]](Path(argv[1]), *argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
