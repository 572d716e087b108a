"""How long ``make setup`` takes on a fresh clone, and how big the ``.venv`` it makes is.

Prints a table; asserts nothing. Both rows run in a new clone of this repository's HEAD in a new temporary
folder, with package caches of their own (``UV_CACHE_DIR``, ``PIP_CACHE_DIR``, ``npm_config_cache``):

- cold: the caches are empty, so uv, every locked wheel and the npm package are downloaded.
- warm: a second fresh clone, with the caches the cold run filled.

The ``.venv`` size is the sum of its files' sizes on disk (``du -sm``). Debian's chromium is not counted:
``make setup`` installs it only when no Chromium or Chrome is found.

    python benchmarks/setup.py            (with the project's .venv active or not: each clone's make uses the
                                          system's python3, never this one's environment)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 120.0, "warm": 60.0}
VENV_TARGET_MB = 1300


def setup(folder: Path, caches: Path) -> tuple[float, int]:
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {
        **outside_any_venv(os.environ),
        "UV_CACHE_DIR": str(caches / "uv"),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "npm_config_cache": str(caches / "npm"),
    }
    start = time.perf_counter()
    done = subprocess.run(["make", "setup"], cwd=clone, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"make setup failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    size = subprocess.run(["du", "-sm", str(clone / ".venv")], capture_output=True, text=True, check=True)
    return wall, int(size.stdout.split()[0])


def outside_any_venv(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The environment without an active virtual environment: no ``VIRTUAL_ENV``, and its ``bin`` off ``PATH``
    (a venv made by uv has no pip, so ``python3 -m pip``, which bootstraps uv, would fail in it)."""
    env = dict(environ)
    venv = env.pop("VIRTUAL_ENV", None) or (sys.prefix if sys.prefix != sys.base_prefix else None)
    env.pop("PYTHONHOME", None)
    if venv:
        bin_dir = str(Path(venv) / "bin")
        env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != bin_dir)
    return env


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Takes no options: it clones HEAD twice and times `make setup`."
    ).parse_args()
    with tempfile.TemporaryDirectory(prefix="setup-bench-") as tmp:
        caches = Path(tmp) / "caches"
        print(f"{'run':<6} {'wall s':>8} {'target s':>9} {'.venv MB':>9}")
        for run in ("cold", "warm"):
            folder = Path(tmp) / run
            folder.mkdir()
            wall, venv_mb = setup(folder, caches)
            print(f"{run:<6} {wall:>8.1f} {TARGETS[run]:>9.0f} {venv_mb:>9}")
        print(f".venv target: under {VENV_TARGET_MB} MB")


if __name__ == "__main__":
    main()
