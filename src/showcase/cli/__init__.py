"""The command lines: ``showcase`` (``main``) and its commands, one module each, and the seed scripts' entry points
(``run_pipeline``, ``build_config``, ``check_endpoint``, ``predict``). docs/cli.md states their conventions.

    main            the ``showcase`` parser tree, its help, and the older commands' names
    common          global flags, the error boundary, exit codes, logging, flag types
    output          tables, times, statuses and ``--json``
    progress        a local execution's live table (or lines) on stderr
    report          an execution's outcome: its step table, registrations and last line
    local           start, list, describe, logs, retry, store          run_pipeline    run (and run_pipeline.py)
    registry        registry ... (registry_view: its rows and fields)  endpoint        endpoint ...
    monitor         monitor ...                                          dashboard, api  the two servers

Importing this package first checks, without importing anything, that this Python has the project's packages
when the checkout beside it has its own environment (``.venv``, made by ``make setup``) and this is another
Python: ``python pipelines/run_pipeline.py`` with the system's python3 then says, in one line, to activate that
environment, instead of failing on the first module it lacks. Nothing is checked inside that environment, nor
where there is none (the CI jobs install their requirements into the runner's Python), nor in another virtual
environment that has boto3 (one made for a part of the project: a CI job's requirements alone).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

DEPENDENCIES = ("boto3", "rich", "numpy", "xgboost", "sagemaker", "starlette", "yaml", "packaging")
"""Modules of the project's dependencies the commands import (their import names, not their distributions')."""


def _not_in_the_project_environment() -> str | None:
    """Why this Python cannot run the commands, when the checkout's environment would (else None)."""
    venv = Path(__file__).resolve().parents[3] / ".venv"
    if not (venv / "pyvenv.cfg").is_file() or Path(sys.prefix).resolve() == venv.resolve():
        return None
    missing = [name for name in DEPENDENCIES if importlib.util.find_spec(name) is None]
    made_for_a_part = sys.prefix != sys.base_prefix and "boto3" not in missing
    if not missing or made_for_a_part:
        return None
    return (
        f"error: this Python ({sys.executable}) lacks the project's packages ({', '.join(missing)}); they are in "
        f"{venv}: activate it first (source {venv}/bin/activate), or run the command with {venv}/bin/python"
    )


_PROBLEM = _not_in_the_project_environment()
if _PROBLEM is not None:
    raise SystemExit(_PROBLEM)
