"""The local runner's own peak memory in a cold run: what it holds itself, apart from its jobs' processes.

Runs ``run_pipeline.py -n showcase.pipeline --local`` on a new state directory, on generated Abalone-like data of
``--rows`` rows (scripts/make_abalone_like.py), and polls the runner's ``VmHWM`` (Linux: the peak resident set
of that one process) until it ends. Prints the runner's peak and the run's wall time; asserts nothing.

    python benchmarks/runner_peak.py [--rows 1000000] [--repeat 2] [--root .]

``--root`` runs another checkout's ``src/`` and ``pipelines/`` (to compare with the code before a change).
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


def one_run(root: Path, data: Path) -> tuple[float, float]:
    """(the runner's peak MB, the run's wall seconds)."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
        env.update(SHOWCASE_HOME=home, SHOWCASE_INPUT_DATA=str(data), PYTHONPATH=str(root / "src"))
        command = [sys.executable, str(root / "pipelines" / "run_pipeline.py"), "-n", "showcase.pipeline", "--local"]
        start = time.perf_counter()
        runner = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak_kb = 0
        while runner.poll() is None:
            try:
                status = Path(f"/proc/{runner.pid}/status").read_text()
            except OSError:
                break
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
            time.sleep(0.1)
        wall = time.perf_counter() - start
        if runner.wait() != 0:
            raise SystemExit(f"the run failed (exit {runner.returncode})")
    return peak_kb / 1024, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--root", type=Path, default=REPO, help="the checkout whose runner is measured")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        parser.error("VmHWM is Linux's")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "abalone.data"
        make = [sys.executable, str(REPO / "scripts" / "make_abalone_like.py"), "--rows", str(args.rows),
                "--output", str(data), "--source", str(REPO / "data" / "abalone.data")]  # fmt: skip
        subprocess.run(make, check=True, capture_output=True)
        for _ in range(args.repeat):
            peak, wall = one_run(args.root.resolve(), data)
            print(f"{args.rows} rows: the runner's own peak {peak:.0f} MB, the run {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
