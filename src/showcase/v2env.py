"""The SDK v2 environment: where a pipeline module written for the SageMaker Python SDK v2 is built, and where
the jobs of the ``@step`` functions such a module defines run.

The SDK v2 and v3 cannot share an environment (both are the ``sagemaker`` package), so a v2 module is built
(``showcase.builder.v2build``), and its ``@step`` jobs run (``showcase.local.steps.remote_function``), by a
Python of another environment, made from the lock this package ships (``builder/sdk-v2/pyproject.toml`` and
``builder/sdk-v2/uv.lock``: ``sagemaker==2.257.7`` and what it needs, at pinned versions) with ``uv``:

- where: ``$XDG_CACHE_HOME/showcase/sdk-v2/<digest>/`` (``~/.cache`` without it), never inside a project;
  ``<digest>`` covers the two lock files, the interpreter and how it is made (``RECIPE``), so a new lock or
  another Python is another environment;
- when: on first use, which needs the package index (PyPI, or the index uv is configured for) unless uv's
  cache holds every wheel; afterwards it is used as it is, offline;
- how: ``uv sync --frozen --compile-bytecode`` (each build then loads the SDK's modules rather than compiling
  them, as ``make setup`` does for the project's environment) into a temporary directory beside it, renamed
  into place once complete, so a directory under its final name is always whole; a process that finds
  another making it waits for it (an exclusive ``flock`` on ``<digest>.lock``) and then uses what that one
  made.

Nothing is imported here beyond the standard library; ``uv`` is found as the ``uv`` package's binary (a
dependency of the project), else on ``PATH``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from showcase.errors import UsageError

logger = logging.getLogger(__name__)

LOCK_DIR = Path(__file__).with_name("builder") / "sdk-v2"
LOCK_FILES = ("pyproject.toml", "uv.lock")
RECIPE = 1
"""How the environment is made (``_sync``'s flags); a new recipe is another environment."""
MARKER = "environment.json"
"""Written into the environment's directory before it is renamed into place."""


@dataclass(frozen=True)
class Environment:
    """A made SDK v2 environment."""

    root: Path
    digest: str
    created_seconds: float | None = None
    """How long making it took, when this call made it (None: it was there)."""

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        """Where its packages are (uv's layout of a virtual environment; its Python is this one's version)."""
        return self.root / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def digest() -> str:
    """What the environment is made from: the lock files' bytes, the interpreter's version and place, and the
    recipe."""
    material = hashlib.sha256(f"recipe {RECIPE}\0".encode())
    for name in LOCK_FILES:
        material.update(name.encode() + b"\0" + (LOCK_DIR / name).read_bytes() + b"\0")
    material.update(f"{sys.version}\0{os.path.realpath(sys.base_prefix)}".encode())
    return material.hexdigest()[:32]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "showcase" / "sdk-v2"


def ensure() -> Environment:
    """The environment for the current lock and interpreter, made first when there is none (see the module's
    docstring); a UsageError in one line when it cannot be made."""
    key = digest()
    root = cache_root()
    final = root / key
    if _complete(final):
        return Environment(final, key)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot(final, f"{root} cannot be made ({exc.strerror})") from None
    with _exclusive(root / f"{key}.lock"):
        if _complete(final):  # another process made it while this one waited
            return Environment(final, key)
        return Environment(final, key, _make(root, final, key))


def _complete(final: Path) -> bool:
    return (final / MARKER).is_file() and (final / "venv" / "bin" / "python").exists()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process making the SDK v2 environment (%s)", path.with_suffix(""))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make(root: Path, final: Path, key: str) -> float:
    """Make the environment in a temporary directory and rename it to ``final``; the seconds it took."""
    for leftover in root.glob(f".{key}-*"):  # what a creator that died left; the lock is held
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists():  # incomplete (no marker): never renamed into place whole, or damaged since
        shutil.rmtree(final, ignore_errors=True)
    logger.info("making the SDK v2 environment in %s from its lock (first use; it needs the package index)", final)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        project = scratch / "project"
        project.mkdir()
        for name in LOCK_FILES:
            shutil.copyfile(LOCK_DIR / name, project / name)
        _sync(project, scratch / "venv", final)
        (scratch / MARKER).write_text(json.dumps({"digest": key, "python": sys.version, "made": time.time()}))
        os.rename(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    took = time.monotonic() - started
    logger.info("SDK v2 environment made in %.1f s", took)
    return took


def _sync(project: Path, venv: Path, final: Path) -> None:
    command = [
        _uv(final),
        "sync",
        "--frozen",
        "--no-install-project",
        "--compile-bytecode",
        "--quiet",
        "--project",
        str(project),
        "--python",
        sys.executable,
    ]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)  # this process's environment, not the one being made
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _cannot(final, f"uv could not run ({exc})") from None
    if result.returncode != 0:
        raise _cannot(final, f"uv sync failed: {_uv_error(result.stderr) or f'exit code {result.returncode}'}")


def _uv(final: Path) -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise _cannot(final, "uv is not installed (pip install uv)") from None
        return found


def _uv_error(stderr: str) -> str:
    """uv's error in one line: its ``error:`` line and the last ``Caused by:`` under it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "")
    causes = [line for line in lines if line.startswith("Caused by:")]
    return " ".join([first, *causes[-1:]]).removeprefix("error: ")


def _cannot(final: Path, why: str) -> UsageError:
    return UsageError(
        f"the SDK v2 environment cannot be made in {final}: {why}; making it the first time needs the package "
        "index (PyPI), later builds do not"
    )
