"""``showcase-dashboard`` as a user runs it: a real process serving on loopback, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.dashboard.browser_support import free_port

REPO = Path(__file__).resolve().parents[2]


def dashboard(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "showcase.cli.dashboard", "--home", str(home), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serves_the_pages_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    process = dashboard("--port", str(port), home=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/executions", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the dashboard did not answer within 30 s"
                time.sleep(0.2)
        assert "No executions yet" in page
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    for args, message in (
        (["--region", "eu-west-1"], "--region only applies with --aws"),
        (["--port", "http"], "expected a port number from 0 to 65535, got 'http'"),
    ):
        result = dashboard(*args, home=tmp_path)
        _, stderr = result.communicate(timeout=60)
        assert result.returncode == 2, stderr
        assert message in stderr and "Traceback" not in stderr
