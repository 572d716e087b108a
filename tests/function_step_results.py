"""What a notebook does with a pipeline of ``@step`` functions, for either SDK: publish, start, wait, then read each
function's value with ``execution.result``. Imports no SDK itself, so the SDK v2 and v3 pipeline modules
(tests/function_step_pipeline_v2.py, tests/function_step_pipeline.py) share it, each in its own environment."""

from __future__ import annotations

import json
import sys
from typing import Any


def publish_run_and_print_results(pipeline: Any, role: str, remote_function_error: type[Exception]) -> None:
    """Upsert and start ``pipeline``, wait for it, and print one JSON document: the execution's status and each
    function step's value (or ``remote_function_error``'s message, the SDK's error for a function that raised)."""
    pipeline.upsert(role_arn=role)
    execution = pipeline.start()
    try:
        execution.wait(delay=1, max_attempts=600)
    except Exception as exc:  # a failed execution: its steps' results are read all the same
        print(f"wait: {exc}", file=sys.stderr)
    seen: dict[str, Any] = {"status": execution.describe()["PipelineExecutionStatus"], "results": {}}
    for listed in execution.list_steps():
        name = listed["StepName"]
        if listed["StepStatus"] == "Skipped" or "TrainingJob" not in (listed.get("Metadata") or {}):
            continue
        try:
            seen["results"][name] = execution.result(name)
        except remote_function_error as exc:
            seen["results"][name] = f"RemoteFunctionError: {exc}"
    print(json.dumps(seen))
