"""A Lambda function's invocation, inside its job process: ``python lambda_runtime.py ROOT HANDLER TIMEOUT MEMORY ARN``.

Run as a file (``command``), as Lambda's runtime interface starts a handler: it imports only the standard library,
so the job starts in a bare interpreter's time, with no pre-imported job server to start first; the handler
imports what it imports (site-packages included). The file's own directory is taken off ``sys.path``, so a
handler module named like a module beside this one is the function's own.

The runner unzips the function's code into ``ROOT/task`` (Lambda's ``/var/task``) and writes the event to
``ROOT/event.json``. This imports ``HANDLER`` (``<module>.<function>``, the module's dots or slashes naming
folders of ``task``), calls it with the event and a context as Lambda's Python runtime gives, and writes
``ROOT/output/result.json`` (what it returned) or ``ROOT/output/error.json`` in Lambda's error shape
``{"errorMessage", "errorType", "stackTrace"}`` (an exception, a result that is not JSON, or the timeout:
``Task timed out after N.00 seconds``, errorType ``Sandbox.Timedout``). The START/END/REPORT lines Lambda writes
to the function's log go to the step log.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

RESULT = "output/result.json"
ERROR = "output/error.json"
EVENT = "event.json"
TASK = "task"
VAR_TASK = "/var/task"


class _TimedOut(BaseException):
    """Raised in the handler when its time is up (a BaseException: a handler's ``except Exception`` does not keep
    it from ending)."""


class LambdaContext:
    """The context object Lambda's Python runtime passes a handler."""

    def __init__(self, arn: str, memory: int, timeout: int) -> None:
        name = arn.rsplit(":", 1)[-1]
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def command(root: str, handler: str, timeout: int, memory: int, arn: str) -> list[str]:
    """The job process's command line."""
    return [sys.executable, __file__, root, handler, str(timeout), str(memory), arn]


def run(root: Path, handler: str, timeout: str, memory: str, arn: str) -> int:
    context = LambdaContext(arn, int(memory), int(timeout))
    (root / "output").mkdir(parents=True, exist_ok=True)
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST", flush=True)
    started = time.monotonic()
    try:
        outcome = _invoke(root, handler, context, int(timeout))
    finally:
        elapsed = (time.monotonic() - started) * 1000
        print(f"END RequestId: {context.aws_request_id}", flush=True)
        print(
            f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms\tMemory Size: {memory} MB",
            flush=True,
        )
    name, document = outcome
    (root / name).write_text(json.dumps(document), encoding="utf-8")
    return 0


def _invoke(root: Path, handler: str, context: LambdaContext, timeout: int) -> tuple[str, Any]:
    event = json.loads((root / EVENT).read_text("utf-8"))
    sys.path.insert(0, str(root / TASK))
    os.chdir(root / TASK)
    signal.signal(signal.SIGALRM, _time_up)
    signal.alarm(timeout)
    try:
        function = _handler(handler)
        result = function(event, context)
        return RESULT, json.loads(json.dumps(result))
    except _TimedOut:
        when = time.strftime("%Y-%m-%dT%H:%M:%S")
        message = f"{when} {context.aws_request_id} Task timed out after {timeout:.2f} seconds"
        return ERROR, {"errorMessage": message, "errorType": "Sandbox.Timedout", "stackTrace": []}
    except Exception as exc:
        return ERROR, _error(exc, root / TASK)
    finally:
        signal.alarm(0)


def _handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _RuntimeError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _RuntimeError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function


class _RuntimeError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _error(exc: Exception, task: Path) -> dict[str, Any]:
    """Lambda's shape of an unhandled error: the exception's message and class, and the stack as lines, with the
    function's files under ``/var/task`` as Lambda shows them."""
    error_type = exc.error_type if isinstance(exc, _RuntimeError) else type(exc).__name__
    frames = [] if isinstance(exc, _RuntimeError) else traceback.extract_tb(exc.__traceback__)[1:]
    stack = [line.replace(str(task), VAR_TASK) for line in traceback.format_list(frames)]
    return {"errorMessage": str(exc), "errorType": error_type, "stackTrace": stack}


def _time_up(signum: int, frame: FrameType | None) -> None:
    raise _TimedOut()


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    sys.exit(run(Path(sys.argv[1]), *sys.argv[2:6]))
