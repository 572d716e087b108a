"""``make setup`` says what it is doing: the first run spends a minute or two downloading, and used to say nothing.

``make -n`` prints the recipe the first run would run (the stamp taken as out of date), without running it.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO


def recipe() -> list[str]:
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", ".venv/.installed"],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return dry.stdout.splitlines()


def test_setup_announces_each_step_before_it_runs_and_how_to_activate_after() -> None:
    lines = recipe()
    steps = [line for line in lines if re.match(r'^echo "==> \[\d/4\] ', line)]
    assert [re.search(r"\[(\d)/4\]", line).group(1) for line in steps] == ["1", "2", "3", "4"]  # type: ignore[union-attr]
    sync = next(i for i, line in enumerate(lines) if " sync " in line)
    assert lines.index(steps[0]) < sync < lines.index(steps[1])
    assert lines[-1].startswith('echo "==> set up. Activate the environment: source .venv/bin/activate')


def test_uv_shows_its_own_progress() -> None:
    (sync,) = [line for line in recipe() if " sync " in line]
    assert "--quiet" not in sync.split() and "-q" not in sync.split()
