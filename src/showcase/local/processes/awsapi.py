"""The AWS API a run's jobs reach: S3 (and SageMaker, STS, IAM) on loopback over the run's home.

On SageMaker a job reaches S3 with its role's credentials; here it reaches the local API (``showcase api``) with
fixed, non-secret credentials (``job_environment``): boto3, the AWS CLI and s3fs inside the job read
``AWS_ENDPOINT_URL``. The host's own AWS settings never reach a job (``commands.clean_environment``).

One API serves a home at a time. It writes ``<home>/api/server.json`` (its pid, start time and URL) once it
listens, and removes it when it ends (``announce``). A run uses the API named there (``find``); where there is none,
it starts one on a free loopback port for its own duration (``ApiForRun``), in the background.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

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
HOST = "127.0.0.1"


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


def find(home: Path, *, besides: int | None = None) -> str | None:
    """The URL of the API serving ``home``, or None (a file left by an API that is gone counts as none; so does
    process ``besides``: an API asking whether another serves its home)."""
    try:
        info = json.loads((home / SERVER_FILE).read_text(encoding="utf-8"))
        pid, started, url = int(info["pid"]), info.get("started"), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if pid != besides and pid_alive(pid, started) else None


def _write(home: Path, pid: int, url: str) -> None:
    path = home / SERVER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, {"pid": pid, "started": process_started(pid), "url": url})


def _forget(home: Path, pid: int) -> None:
    """Remove the file naming the API if it names process ``pid``."""
    path = home / SERVER_FILE
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()


@contextlib.contextmanager
def announce(home: Path, url: str) -> Iterator[None]:
    """Say that this process serves ``home`` at ``url`` for as long as the block runs."""
    _write(home, os.getpid(), url)
    try:
        yield
    finally:
        _forget(home, os.getpid())


class ApiForRun:
    """The API a run's jobs use: the one serving the home, else one started for the run and stopped by ``close``.

    ``start`` looks for it and, where there is none, binds a loopback port here and starts the API on it in the
    background (``showcase api --listen-fd``): its URL is known at once, so no job waits for the API to start;
    a job's first request waits in the port's queue until the API answers it. ``environment()`` is what
    ``JobContext.aws_environment`` gives each job (its first call starts the API if ``start`` was not called).
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
        if self._url is not None:
            return
        self._url = find(self.home)
        if self._url is None:
            self._process, self._url = self._spawn()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], str]:
        (self.home / LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind((HOST, 0))
            listener.listen(1024)
            url = f"http://{HOST}:{listener.getsockname()[1]}"
            fd = listener.fileno()
            command = [sys.executable, "-m", "showcase", "--home", str(self.home), "api", "--listen-fd", str(fd)]
            with open(self.home / LOG_FILE, "ab") as log:
                process = subprocess.Popen(
                    guarded(command),  # it dies with the run, however the run ends
                    env=clean_environment({}),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    pass_fds=[fd],
                    start_new_session=True,
                )
        # Only the API holds the port now: if it ends, a job's request is refused rather than left waiting.
        _write(self.home, process.pid, url)  # another run of this home finds it from now on
        return process, url

    def url(self) -> str:
        with self._lock:
            self._begin()
            assert self._url is not None
            return self._url

    def environment(self) -> dict[str, str]:
        return job_environment(self.url(), self.region)

    def close(self) -> None:
        """Stop the API started here, once the run's jobs have ended (SIGKILL: it keeps nothing a kill would leave
        half-done, as every write it makes is atomic); one found running stays."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        _forget(self.home, process.pid)
