"""One pipeline execution in a process of its own: ``python -m showcase.api.runner`` (started by the API).

It reads one JSON request on stdin — ``{"action": "start", "home", "pipeline_name", "definition",
"parameters"}`` or ``{"action": "retry", "home", "execution_id"}`` — and runs it with ``showcase.local``. Its
first line on stdout is the answer the API waits for, as one JSON object after ``ANSWER``: the execution's id
once the run has begun (``{"execution_id": ...}``), or why it could not begin (``{"error": ..., "kind": ...}``,
the definition or a parameter refused before anything ran). Then its output goes to ``<home>/api/runners/<id>.log``
and it runs the execution to its end; the record under ``executions/<id>/`` is what everyone reads.

A runner of its own keeps the API answering while steps run, and makes StopPipelineExecution a SIGTERM to it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ANSWER = "showcase-runner-answer "
"""The prefix of the runner's one answer line (anything an import printed before it is skipped)."""


class _Announcer:
    """Answers the API once, on the first EXECUTION_STARTED event, then sends the runner's output to its log."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.execution_id: str | None = None

    def __call__(self, event: Any) -> None:
        if self.execution_id is None and event.kind == "execution_started":
            self.execution_id = event.execution_id
            answer({"execution_id": event.execution_id})
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = os.open(self.log_dir / f"{event.execution_id}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)


def answer(document: dict[str, Any]) -> None:
    sys.stdout.write(ANSWER + json.dumps(document) + "\n")
    sys.stdout.flush()


def run(request: dict[str, Any]) -> int:
    from showcase import settings as settings_module
    from showcase.errors import ShowcaseError
    from showcase.local import retry_execution, run_definition

    settings = settings_module.load(request["home"])
    announce = _Announcer(settings.home / "api" / "runners")
    try:
        if request["action"] == "retry":
            record = retry_execution(request["execution_id"], settings=settings, on_event=announce)
        else:
            record = run_definition(
                request["definition"],
                pipeline_name=request["pipeline_name"],
                parameters=request.get("parameters") or {},
                settings=settings,
                on_event=announce,
            )
    except ShowcaseError as exc:
        if announce.execution_id is None:
            answer({"error": str(exc), "kind": type(exc).__name__})
            return 2
        logging.getLogger(__name__).error("execution %s: %s", announce.execution_id, exc)
        return 1
    return 0 if record.status == "Succeeded" else 1


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(json.loads(sys.stdin.read()))


if __name__ == "__main__":
    sys.exit(main())
