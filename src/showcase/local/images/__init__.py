"""What runs inside a job process: the built-in images the local runtime stands in for, and a job's ``pip``.

A built-in image's job (SageMaker's XGBoost algorithm, Model Monitor's analyzer) runs as every other job does
(``steps.common.run_job_process``): in a process of its own, through the job guard, seeing its directory as
``/opt/ml`` where the host allows it. The runner stages its inputs and writes its configuration, then starts
``command(JOB, ROOT, ...)``: ``python -m showcase.local.images JOB ROOT ...`` (``main.main``), ``ROOT`` being
``/opt/ml`` in the container view and the job's directory without it. Inside, the job reads and writes only what
the image's container does, and its data is never held by the runner:

- ``xgboost ROOT IMAGE_URI`` (``xgboost_job``): ``input/config/hyperparameters.json`` (strings) and
  ``inputdataconfig.json`` (each channel's ContentType), the channels in ``input/data/<channel>``; it writes
  ``model/xgboost-model`` (as the image of ``IMAGE_URI``'s tag saves it) and one line per boosting round on stdout
  in the container's form (``[3]#011train-rmse:2.10000#011validation-rmse:2.30000``), which the runner reads as
  they come (``xgboost_job.round_metrics``): the last values are the job's FinalMetricDataList, as SageMaker reads
  them from the log, and a tuning job judges its trials by them.
- ``analyzer ROOT`` (``analyzer``): the Model Monitor analyzer's ``Environment`` (``dataset_source``,
  ``output_path`` and, when checking, ``baseline_statistics`` / ``baseline_constraints``, container paths); it
  writes ``statistics.json``, ``constraints.json`` and, when checking, ``constraint_violations.json`` to
  ``output_path``.
- ``clarify ROOT`` (``clarify``): SageMaker Clarify's ``processing/input/config/analysis_config.json`` and dataset
  (and, for a model check, the model's archive in ``processing/model``); it writes ``analysis.json``,
  ``report.ipynb`` and ``explanations_shap/out.csv`` to ``processing/output``.

A Lambda function's handler (``lambda_runtime``) also runs inside a job process, but as a file of its own in a bare
interpreter (``lambda_runtime.command``), not through ``main``: it needs nothing pre-imported, and the handler's
imports are its own.

A failure is written as the container writes it (``job.failed``): ``output/failure`` for a training job
(``ClientError: ...`` for data or hyperparameters the algorithm rejects, ``AlgorithmError: ...`` for anything else),
``output/message`` for a processing job, and the job exits 1: the runner makes it the step's FailureReason.

Nothing here imports the runner's side of the process boundary (``showcase.local.engine``, ``steps``,
``processes``): the import-linter contracts in ``pyproject.toml`` keep it so. This module is what the runner needs
to start such a job; it imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

MODULE = "showcase.local.images"
"""Run with ``python -m``: its ``__main__`` calls ``main.main``."""


def command(job: str, root: str, *arguments: str) -> list[str]:
    """The job process's command line, as the runner starts it (a fresh interpreter, or a fork of the job server)."""
    return [sys.executable, "-m", MODULE, job, root, *arguments]


def argv_of(command: Sequence[str]) -> list[str] | None:
    """``main.main``'s arguments when ``command`` is a built-in job's (``command``), else None."""
    head = [sys.executable, "-m", MODULE]
    return list(command[len(head) :]) if list(command[: len(head)]) == head else None


def environment() -> dict[str, str]:
    """What a built-in job's process adds to its environment: OpenMP threads that sleep, not spin, while they
    wait (unless this environment says otherwise). Trials of a tuning job run side by side, each with a thread
    per core; spinning threads of one process then starve the others' (in one process OpenMP would throttle
    them itself): six small trials two at a time took 18.6 s spinning, 0.4 s sleeping."""
    return {} if "OMP_WAIT_POLICY" in os.environ else {"OMP_WAIT_POLICY": "PASSIVE"}
