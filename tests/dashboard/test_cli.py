"""``showcase-dashboard`` as a user runs it: a real process serving on loopback, and one-line errors."""

from __future__ import annotations

import http.client
import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def dashboard(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "showcase", "dashboard", "--home", str(home), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reported_url(process: subprocess.Popen[str], within_s: float = 60) -> str:
    """The URL the dashboard says it listens on (stdout, read with a bounded wait)."""
    assert process.stdout is not None
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = process.stdout.readline() if ready else ""
        found = re.search(r"dashboard on (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found.group(1)
        assert line or process.poll() is None, "the dashboard exited without saying where it listens"
    raise AssertionError(f"the dashboard did not say where it listens within {within_s:g} s")


def test_serves_the_pages_on_loopback_on_the_port_it_reports(tmp_path: Path) -> None:
    """``--port 0``: the system picks a free port while the server binds it, and the dashboard says which."""
    process = dashboard("--port", "0", home=tmp_path)
    try:
        url = reported_url(process)
        assert not url.endswith(":0/"), url
        with urllib.request.urlopen(f"{url}executions", timeout=10) as response:
            page = response.read().decode()
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


def test_answers_only_to_its_names_and_bounds_each_request(tmp_path: Path) -> None:
    """The served dashboard: another Host is refused (``--allowed-host`` adds one), a head over 16 KiB gets 431."""
    process = dashboard("--port", "0", "--allowed-host", "dash.lan", home=tmp_path)
    try:
        port = int(reported_url(process).rsplit(":", 1)[1].strip("/"))
        for host, status in (("dash.lan", 200), (f"localhost:{port}", 200), ("rebind.attacker.example", 400)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/executions", headers={"Host": host})
            response = connection.getresponse()
            assert response.status == status, (host, response.read()[:200])
            assert response.getheader("X-Frame-Options") == "DENY"
            connection.close()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /executions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 431")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_allowed_host_with_a_port_is_a_one_line_error(tmp_path: Path) -> None:
    result = dashboard("--allowed-host", "dash.lan:8765", home=tmp_path)
    _, stderr = result.communicate(timeout=60)
    assert result.returncode == 2 and "expected a host name or IP address without a port" in stderr
    assert len(stderr.strip().splitlines()) == 1
