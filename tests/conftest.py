"""Shared fixtures: paths, the real Abalone data, and a moto server on a loopback port."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The UCI file, byte for byte, as the repository ships it (data/README.md has its origin and licence).
ABALONE = Path(os.environ.get("SHOWCASE_TEST_DATA") or REPO / "data" / "abalone.data")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/showcase-sagemaker-execution"

# Dummy credentials: botocore signs requests with them, moto accepts them, AWS would not.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in-process configures the root logger as its own process would
    (``showcase.cli.common.configure_logging``); the next test gets the handlers and level there were before."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture(scope="session")
def abalone_path() -> Path:
    assert ABALONE.is_file(), f"the Abalone data is missing at {ABALONE}; set SHOWCASE_TEST_DATA to a copy"
    return ABALONE


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server in a thread, bound to 127.0.0.1 on a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture()
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point boto3 (in this process and in subprocesses given this env) at a freshly reset moto server."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    env = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": moto_endpoint}
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield {**os.environ, **env}


def _ancestors() -> set[int]:
    """This process and those it runs under (a wrapper's command line may name the suite's directory)."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def _left_running(base: Path) -> list[str]:
    """Processes other than this one whose command line names a path under ``base``: what a test left running."""
    found, mine = [], _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(word.decode(errors="replace") for word in words if word)
        if str(base) in text:
            found.append(f"{entry.name}: {text[:200]}")
    return found


LONGEST_FIRST = (
    "tests/test_function_steps.py",
    "tests/test_workflow_offline.py",
    "tests/test_sdk_v2_build.py",
    "tests/api/test_seed_scripts.py",
    "tests/test_run_pipeline_aws.py",
    "tests/test_rollout.py",
    "tests/test_function_steps_v2.py",
    "tests/test_readme.py",
)
"""The files that take longest (each a minute or more of the suite's time, most of it waiting on jobs and
waiters), run first: with workers (``make test``, ``-n 2 --dist loadfile --no-loadscope-reorder``) none of them is
left running alone at the end while the other worker has nothing to do."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing a test starts outlives the suite: a server, runner or job still running under the suite's
    temporary directory once every test is done (and given 10 s to end) fails the run, naming it."""
    import time

    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or not Path("/proc").is_dir():
        return
    base = factory.getbasetemp()
    deadline = time.monotonic() + 10.0
    while (left := _left_running(base)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("processes the tests left running:\n  " + "\n  ".join(left), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
