"""Every shell block of README.md runs, in order, as a new user pastes it into a terminal in the clone.

Each ```bash, ```sh or ```console block (a console block's ``$ `` lines) runs in bash with ``set -euo pipefail``,
from the repository's root, with the repository's ``.venv`` activated (as the quickstart says to do) and
``SHOWCASE_HOME`` pointing at a fresh temporary directory, so nothing of the checkout's own state is read or
changed. AWS settings and files are taken away: a new user has none, and the README needs none.

A block is run unless ``SKIPPED`` names it with the reason it cannot run here; a name that matches no block
fails the test, so the table cannot go stale. A block that serves in the foreground until Ctrl-C, as the
README says, is named in ``FOREGROUND`` with the URL it serves: it runs until that URL answers, then gets
Ctrl-C (SIGINT) and must end cleanly. Once every block has run, no endpoint the blocks served may still be
serving: the README stops what it starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
VENV = REPO / ".venv"
BLOCK_TIMEOUT_S = 600
# What a block writes into the checkout (git-ignored), put back as it was after the test.
WRITTEN = [REPO / "deploy" / "endpoint_config_adj.json"]

# The first line of each block that cannot run here, and why.
SKIPPED = {
    "make run    # set everything up, then run the Abalone pipeline locally end to end": (
        "`make test` is the suite this test belongs to; `make run` is the quickstart's `showcase run` without "
        "its one parameter (the quickstart's blocks run)"
    ),
    "make setup": (
        "it makes the .venv this test runs in; running it here could replace that environment under the "
        "test (every make target starts with it, and CI runs `make test`)"
    ),
}

# The first line of each block that serves in the foreground until Ctrl-C, and the URL it serves.
FOREGROUND = {
    "showcase dashboard    # open http://127.0.0.1:8765 in a browser": "http://127.0.0.1:8765/",
}

_FENCE = re.compile(r"^```(bash|sh|console)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    number: int
    script: str

    @property
    def first_line(self) -> str:
        return self.script.splitlines()[0]


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    for number, match in enumerate(_FENCE.finditer(text), start=1):
        language, body = match.groups()
        if language == "console":
            body = "".join(line[2:] + "\n" for line in body.splitlines() if line.startswith("$ "))
        blocks.append(Block(number, body))
    return blocks


def block_environment(home: Path) -> dict[str, str]:
    """A new user's shell after ``source .venv/bin/activate``, with the state in ``home``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SHOWCASE_", "SAGEMAKER_", "PYTHON", "VIRTUAL_ENV", "BOTO"))
    }
    env.update(
        SHOWCASE_HOME=str(home),
        VIRTUAL_ENV=str(VENV),
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}",
        AWS_CONFIG_FILE=str(home.parent / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home.parent / "no-aws-credentials"),
    )
    return env


def bash(script: str) -> list[str]:
    return ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", script]


def run_block(block: Block, env: dict[str, str]) -> None:
    result = subprocess.run(
        bash(block.script), cwd=REPO, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S
    )
    assert result.returncode == 0, (
        f"README block {block.number} exited {result.returncode}:\n{block.script}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def run_foreground_block(block: Block, url: str, env: dict[str, str], log: Path) -> None:
    """Run the block until its server answers at ``url``, then press Ctrl-C: it must end cleanly."""
    with log.open("w") as output:
        process = subprocess.Popen(
            bash(block.script), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + BLOCK_TIMEOUT_S
            while process.poll() is None and not answers(url) and time.monotonic() < deadline:
                time.sleep(0.2)
            served = process.poll() is None and answers(url)
            os.killpg(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    said = log.read_text()[-4000:]
    assert served, f"README block {block.number} never served {url}:\n{block.script}\n--- output\n{said}"
    assert code in (0, 130), f"README block {block.number} ended {code} on Ctrl-C:\n{block.script}\n{said}"


def serving_endpoints(home: Path, env: dict[str, str]) -> dict[str, str]:
    statuses = {}
    for directory in sorted((home / "endpoints").glob("*")):
        status = subprocess.run(
            [str(VENV / "bin" / "showcase"), "endpoint", "status", "--endpoint-name", directory.name, "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        statuses[directory.name] = json.loads(status.stdout)["EndpointStatus"] if status.returncode == 0 else "?"
    return {name: status for name, status in statuses.items() if status != "OutOfService"}


def stop_endpoints(home: Path, env: dict[str, str]) -> None:
    for directory in sorted((home / "endpoints").glob("*")):
        subprocess.run(
            [str(VENV / "bin" / "showcase"), "endpoint", "stop", "--endpoint-name", directory.name],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture()
def checkout_files_kept() -> Iterator[None]:
    kept = {path: path.read_bytes() if path.exists() else None for path in WRITTEN}
    yield
    for path, content in kept.items():
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)


def test_every_skipped_or_foreground_name_is_a_readme_block() -> None:
    first_lines = {block.first_line for block in readme_blocks(README.read_text())}
    assert set(SKIPPED) - first_lines == set()
    assert set(FOREGROUND) - first_lines == set()
    assert set(SKIPPED) & set(FOREGROUND) == set()


def test_console_blocks_run_their_prompted_lines_only() -> None:
    text = "```console\n$ echo one\none\n$ echo two\ntwo\n```\n```bash\necho three\n```\n```python\nx = 1\n```\n"
    assert [block.script for block in readme_blocks(text)] == ["echo one\necho two\n", "echo three\n"]


@pytest.mark.e2e
def test_every_readme_block_runs_in_order(tmp_path: Path, checkout_files_kept: None) -> None:
    assert (VENV / "bin" / "activate").exists(), "the README's blocks run in the .venv `make setup` makes"
    home = tmp_path / "home"
    env = block_environment(home)
    blocks = readme_blocks(README.read_text())
    assert len(blocks) > len(SKIPPED) + len(FOREGROUND)
    try:
        for block in blocks:
            if block.first_line in SKIPPED:
                continue
            if block.first_line in FOREGROUND:
                run_foreground_block(block, FOREGROUND[block.first_line], env, tmp_path / f"block-{block.number}.log")
            else:
                run_block(block, env)
        assert serving_endpoints(home, env) == {}, "the README leaves an endpoint serving: its blocks must stop it"
    finally:
        stop_endpoints(home, env)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    outside_fences = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return {_anchor(heading) for heading in re.findall(r"^#{1,6} (.+)$", outside_fences, re.M)}


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    """The README's links and the docs' links to one another name files and headings that exist."""
    broken = []
    for page in [README, *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and anchor not in _anchors(linked.read_text())):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert broken == []
