"""The AWS API a run's jobs reach: S3 (and SageMaker, STS, IAM) on loopback over the run's home.

On SageMaker a job reaches S3 with its role's credentials; here it reaches the local API (``showcase api``) with
fixed, non-secret credentials (``job_environment``): boto3, the AWS CLI and s3fs inside the job read
``AWS_ENDPOINT_URL``. The host's own AWS settings never reach a job (``commands.clean_environment``).

One API serves a home at a time. It writes ``<home>/api/server.json`` (its pid, start time and URL) once it
listens, and removes it when it ends (``announce``). A run uses the API named there (``find``); where there is none,
it starts one on a free loopback port for its own duration (``ApiForRun``), in the background, and waits for it
only when its first job starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from showcase.errors import StepFailed
from showcase.files import write_json_atomically
from showcase.local.processes.commands import clean_environment, guarded
from showcase.processes import pid_alive, process_started

SERVER_FILE = Path("api") / "server.json"
"""Under the home: the API that serves it (``{"pid", "started", "url"}``)."""
LOG_FILE = Path("api") / "run-api.log"
"""Under the home: what an API started for a run wrote on stderr."""
ACCESS_KEY_ID = "showcase-local"
SECRET_ACCESS_KEY = "showcase-local-not-a-secret"
"""The credentials every job gets: fixed strings the local API accepts (it checks no signature)."""
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0


def job_environment(url: str, region: str) -> dict[str, str]:
    """What a job gets to reach the local API as boto3, the AWS CLI and s3fs expect it: the endpoint, dummy
    credentials, the region."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def find(home: Path) -> str | None:
    """The URL of the API serving ``home``, or None (a file left by an API that is gone counts as none)."""
    try:
        info = json.loads((home / SERVER_FILE).read_text(encoding="utf-8"))
        pid, started, url = int(info["pid"]), info.get("started"), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if pid_alive(pid, started) else None


@contextlib.contextmanager
def announce(home: Path, url: str) -> Iterator[None]:
    """Say that this process serves ``home`` at ``url`` for as long as the block runs."""
    path = home / SERVER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, {"pid": os.getpid(), "started": process_started(os.getpid()), "url": url})
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


class ApiForRun:
    """The API a run's jobs use: the one serving the home, else one started now and stopped by ``close``.

    ``start`` looks for it, and starts one in the background where there is none; ``environment()`` is what
    ``JobContext.aws_environment`` gives each job: its first call starts the API if ``start`` was not called,
    and waits until it listens (a StepFailed naming its log if it never does).
    """

    def __init__(self, home: Path, region: str) -> None:
        self.home = home
        self.region = region
        self._lock = threading.Lock()
        self._url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._lock:
            self._begin()

    def _begin(self) -> None:
        if self._url is None and self._process is None:
            self._url = find(self.home)
            if self._url is None:
                self._process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        (self.home / LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "showcase", "--home", str(self.home), "api", "--port", "0"]
        with open(self.home / LOG_FILE, "ab") as log:
            return subprocess.Popen(
                guarded(command),  # it dies with the run, however the run ends
                env=clean_environment({}),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )

    def url(self) -> str:
        """The API's URL, once it listens."""
        with self._lock:
            self._begin()
            if self._url is None:
                self._url = self._wait()
            return self._url

    def environment(self) -> dict[str, str]:
        return job_environment(self.url(), self.region)

    def _wait(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            url = find(self.home)
            if url is not None:
                return url  # ours, or one that another run started first
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        raise StepFailed(
            f"the local AWS API the jobs reach S3 through did not start (see {self.home / LOG_FILE}); "
            "start it yourself with `showcase api` and run again"
        )

    def close(self) -> None:
        """Stop the API started here (SIGTERM, then SIGKILL after a few seconds); one found running stays."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
