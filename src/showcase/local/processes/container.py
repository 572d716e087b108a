"""The container's filesystem for each job: its own ``/opt/ml``, the rest of the host visible.

On SageMaker a job's scripts see ``/opt/ml/processing/<LocalPath>`` (processing) or
``/opt/ml/input/data/<channel>``, ``/opt/ml/input/config/*.json``, ``/opt/ml/model``,
``/opt/ml/output/{data,failure}`` and ``/opt/ml/code`` (training). Here every job gets a directory of its
own (``JobContext.work_dir``) laid out the same way, and, on Linux, a private mount namespace in which
that directory *is* ``/opt/ml`` (``guard`` sets it up, with a user namespace when not
root): scripts that hard-code container paths run unchanged, parallel jobs each see their own, and the
interpreter, site-packages and ``/tmp`` are the host's.

Where the platform cannot (macOS, containers without user namespaces or CAP_SYS_ADMIN), or when
``SHOWCASE_CONTAINER_VIEW=off``, jobs run on the host paths instead: container paths given as arguments
are rewritten to the job's directory (``common.container_argument``), the ``SM_*`` variables name host
paths, and a job that fails on a ``/opt/ml`` path it hard-coded is told so (``missing_path_reason``).
This is said once per process (one run).

The scratch directories a job needs outside its own directory (``prepared``'s, ``job_tools``') are made in the
system's temporary directory under names that carry the runner's PID: ``sweep_scratch``, called when a runner
starts, removes those of runners that have ended, however they ended.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from showcase import settings
from showcase.local.images import pip, requirements
from showcase.local.processes.commands import guarded
from showcase.processes import pid_alive

CONTAINER_ROOT = PurePosixPath("/opt/ml")
"""Where a SageMaker container sees its job: the one place the project names it."""

logger = logging.getLogger(__name__)

FAILURE_FILE = "/opt/ml/output/failure"
"""What a training job writes here becomes its FailureReason (the first 1024 characters), as on SageMaker."""
MESSAGE_FILE = "/opt/ml/output/message"
"""What a processing job writes here becomes its ExitMessage (the first 1024 characters), as on SageMaker."""
REASON_LIMIT = 1024
_OPT_ML_PATH = re.compile(r"/opt/ml(?:/[^\s'\"():,]+)*")


@dataclass(frozen=True)
class Availability:
    """Whether jobs get the namespace view of /opt/ml on this host, and if not, why."""

    available: bool
    reason: str = ""


def availability() -> Availability:
    """Checked once per process and setting: a real namespace set-up, on a scratch directory."""
    mode = settings.load().container_view
    with _PROBING:  # parallel jobs starting together probe (and say so) once
        return _probe(mode)


_PROBING = threading.Lock()


@functools.cache
def _probe(mode: str) -> Availability:
    found = _check(mode)
    if not found.available:
        logger.warning(
            "jobs run without their own /opt/ml: %s; container paths given as arguments are mapped to each "
            "job's directory, paths a script hard-codes are not",
            found.reason,
        )
    return found


def _check(mode: str) -> Availability:
    if mode == "off":
        return Availability(False, "SHOWCASE_CONTAINER_VIEW=off")
    if not sys.platform.startswith("linux"):
        return Availability(False, f"mount namespaces are Linux only (this is {sys.platform})")
    if not Path("/opt").is_dir():
        return Availability(False, "/opt does not exist on this host, so /opt/ml cannot be mounted")
    with tempfile.TemporaryDirectory(prefix=_scratch_prefix("view-probe")) as directory:
        job_dir = Path(directory) / "job"
        job_dir.mkdir()
        (job_dir / "probe").write_text("")
        with prepared(job_dir) as view:
            result = subprocess.run(
                guarded(["/bin/sh", "-c", "test -e /opt/ml/probe"], view),
                capture_output=True,
                text=True,
                timeout=30,
            )
    if result.returncode == 0:
        return Availability(True)
    detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
    return Availability(False, f"this host does not allow a private mount namespace ({detail})")


@contextmanager
def prepared(job_dir: Path) -> Iterator[dict[str, str]]:
    """The guard's view argument for ``job_dir``; the scratch directory it needs lives for the block."""
    scratch = Path(tempfile.mkdtemp(prefix=_scratch_prefix("view")))
    try:
        yield {"job_dir": str(job_dir.resolve()), "scratch": str(scratch)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def job_tools(python: str = sys.executable) -> Iterator[dict[str, str]]:
    """``PATH`` and ``PYTHONPATH`` for a job that runs with ``python`` (this interpreter, or another environment's: a
    ``@step`` function built with the SDK v2 runs with the SDK v2 environment's): ``python``/``python3`` are that
    interpreter (the image's Python, stood in for), and ``pip``/``pip3``/``python -m pip`` check a requirements file
    against that interpreter's packages instead of installing it (``showcase.local.images.pip``, run by it with
    ``requirements`` beside it): installing into the runtime's environment is not a job's business, and that
    environment is what a job gets.
    """
    directory = Path(tempfile.mkdtemp(prefix=_scratch_prefix("bin")))
    try:
        for name in ("python", "python3"):
            _script(directory / name, f'exec {shlex.quote(python)} "$@"')
        for name in ("pip", "pip3"):
            _script(directory / name, f'exec {shlex.quote(python)} -m pip "$@"')
        package = directory / "site" / "pip"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "__main__.py").write_bytes(Path(pip.__file__).read_bytes())
        (package / "requirements.py").write_bytes(Path(requirements.__file__).read_bytes())
        python_path = [str(directory / "site"), *filter(None, [os.environ.get("PYTHONPATH")])]
        yield {
            "PATH": os.pathsep.join([str(directory), os.environ.get("PATH", os.defpath)]),
            "PYTHONPATH": os.pathsep.join(python_path),
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


_SCRATCH = re.compile(r"^showcase-(?:bin|view|view-probe)-(\d+)-")


def _scratch_prefix(kind: str) -> str:
    return f"showcase-{kind}-{os.getpid()}-"


def sweep_scratch() -> int:
    """Remove the scratch directories of runners that have ended (a SIGKILL leaves them); return how many."""
    removed = 0
    root = Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        match = _SCRATCH.match(entry.name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid() or not entry.is_dir(follow_symlinks=False):
                continue  # another user's, or not one of ours
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def read_report(work_dir: Path, container_file: str) -> str:
    """The first 1024 characters of a job's failure or message file, or "" when it wrote none."""
    path = work_dir.joinpath(*Path(container_file).relative_to(CONTAINER_ROOT).parts)
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(REASON_LIMIT).strip()
    except OSError:
        return ""


def missing_path_reason(work_dir: Path, lines: Sequence[str], why: str) -> str | None:
    """When a job without the view failed on a hard-coded ``/opt/ml`` path, say which and why."""
    for line in reversed(lines):
        for path in _OPT_ML_PATH.findall(line):
            if not Path(path).exists():
                return (
                    f"the job used {path}, which does not exist on this host: jobs run without their own /opt/ml "
                    f"here ({why}), so only container paths given as arguments are mapped to the job's directory"
                )
    return None
