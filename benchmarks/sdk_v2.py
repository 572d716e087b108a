"""What building a module written for the SageMaker Python SDK v2 costs: making its environment, and a build.

Prints figures; asserts nothing.

    python benchmarks/sdk_v2.py create [--runs 3] [--cold]
        Makes the SDK v2 environment from the package's lock in a new temporary cache directory each run
        (``XDG_CACHE_HOME``), as a first use does, and prints the seconds each took and the environment's size.
        uv's package cache is the machine's (warm: what an earlier make, sync or build left), or with --cold an
        empty one of its own for one run (every wheel downloaded from the package index).

    python benchmarks/sdk_v2.py build MODULE [--runs 3]
        Builds MODULE locally with no build cache (``modules.build_locally``: the SDK v2 environment's process
        for a v2 module, this process for a v3 one) and prints the seconds of each build. Run once per process,
        the whole command is what a `run_pipeline.py --local` spends before its first step, so a pair of
        commands (the Abalone template written for each SDK) compares the two:

        python benchmarks/sdk_v2.py build tests.parity.abalone_sdk_v2.pipeline --runs 1
        python benchmarks/sdk_v2.py build tests.parity.abalone_template.pipeline --runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]
DATA = REPO / "data" / "abalone.data"


def _size_mb(path: Path) -> int:
    return int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def create(runs: int, cold: bool) -> None:
    from showcase import v2env

    print(f"SDK v2 environment, made from its lock ({'an empty uv cache' if cold else 'the warm uv cache'})")
    print(f"{'run':>4} {'seconds':>8} {'MB':>6}")
    took = []
    for run in range(1 if cold else runs):
        with tempfile.TemporaryDirectory(prefix="showcase-bench-v2-") as folder:
            saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "UV_CACHE_DIR")}
            os.environ["XDG_CACHE_HOME"] = str(Path(folder) / "cache")
            if cold:
                os.environ["UV_CACHE_DIR"] = str(Path(folder) / "uv-cache")
            elif saved["UV_CACHE_DIR"] is None:
                os.environ["UV_CACHE_DIR"] = _uv_cache_dir()  # uv's cache follows XDG_CACHE_HOME otherwise
            try:
                started = time.perf_counter()
                environment = v2env.ensure()
                seconds = time.perf_counter() - started
            finally:
                for name, value in saved.items():
                    os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
            took.append(seconds)
            print(f"{run + 1:>4} {seconds:>8.2f} {_size_mb(environment.root):>6}")
    print(f"median {statistics.median(took):.2f} s")


def _uv_cache_dir() -> str:
    from uv import find_uv_bin

    return subprocess.run([find_uv_bin(), "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()


def build(module: str, runs: int) -> None:
    from showcase.builder.modules import build_locally

    os.chdir(REPO)
    for run in range(runs):
        started = time.perf_counter()
        built = build_locally(module, {"local_data": str(DATA)}, region="us-east-1", account="000000000000")
        seconds = time.perf_counter() - started
        print(f"build {run + 1}: {seconds:.2f} s, {len(built.definition['Steps'])} steps, SDK {built.sdk}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("create")
    making.add_argument("--runs", type=int, default=3)
    making.add_argument("--cold", action="store_true")
    building = commands.add_parser("build")
    building.add_argument("module")
    building.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.command == "create":
        create(args.runs, args.cold)
    else:
        build(args.module, args.runs)


if __name__ == "__main__":
    main()
