"""A built-in image's job process: ``main([JOB, ROOT, ...])`` runs the job named by the ``JOBS`` table.

``python -m showcase.local.images`` calls it in a fresh interpreter; the pre-imported job server
(``showcase.local.processes.forker``) calls it in a fork of an interpreter that has run ``preload``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from showcase.local.images import MODULE, analyzer, xgboost_job

JOBS: Mapping[str, Callable[..., int]] = {"xgboost": xgboost_job.run, "analyzer": analyzer.run}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in JOBS:
        print(f"usage: python -m {MODULE} {{{'|'.join(JOBS)}}} ROOT [IMAGE_URI]", file=sys.stderr)
        return 2
    return JOBS[argv[0]](Path(argv[1]), *argv[2:])


def preload() -> None:
    """What the jobs import, imported once by the pre-imported job server before it forks them."""
    xgboost_job.import_xgboost()
    import showcase.local.images.hyperparameters
    import showcase.local.images.xgboost_algorithm
    import showcase.monitoring.checks
    import showcase.monitoring.profile
    import showcase.monitoring.statistics  # noqa: F401
