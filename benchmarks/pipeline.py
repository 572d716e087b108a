"""How fast the local runtime runs the Abalone pipeline, against doing the same work by hand.

Prints a table; asserts nothing. Rows:

- build: building the definition with the SDK (a fresh interpreter: import + get_pipeline + definition()).
- floor: the same three jobs run by hand, one after the other, each in a fresh interpreter —
  preprocess.py, a plain XGBoost training script with the pipeline's hyperparameters
  (benchmarks/floor_train.py), evaluate.py — with no runtime around them.
- cold: ``run_pipeline.py --local`` on a new state directory (build, run, register).
- cached: the same command again on the same state directory: every job step is a cache hit.
- scale-N: cold runs on generated Abalone-like data of N rows (scripts/make_abalone_like.py).
- container-view: what each job's own /opt/ml costs at its start (the private mount namespace and mounts):
  the median start of ``/bin/true`` through the job guard with the view, less the median without it.

Peak memory is the largest resident set of any one process of the run (getrusage of children).

    python benchmarks/pipeline.py [--data data/abalone.data] [--scale 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "showcase"
DEFAULT_DATA = REPO / "data" / "abalone.data"

# Runs one command in a child and reports its wall time and the peak RSS of its process tree.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": code, "wall": wall, "peak_mb": peak}))
"""

BUILD = "from showcase.pipeline import get_pipeline; get_pipeline(region='us-east-1').definition()"


def measure(command: list[str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    if result["code"] != 0:
        raise SystemExit(f"benchmark command failed ({result['code']}): {' '.join(command)}")
    return result


def pipeline_command() -> list[str]:
    return [
        sys.executable,
        str(REPO / "pipelines" / "run_pipeline.py"),
        "-n",
        "showcase.pipeline",
        "--local",
        "--quiet-definition",
    ]


def local_env(home: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    return {**env, "SHOWCASE_HOME": str(home), "SHOWCASE_INPUT_DATA": str(data), "PYTHONPATH": str(REPO / "src")}


def floor(data: Path, work: Path, env: dict[str, str]) -> dict[str, float]:
    """The three jobs by hand, in sequence, each in a fresh interpreter."""
    py = sys.executable
    steps = [
        [py, str(SRC / "preprocess.py"), "--input-data", str(data), "--seed", "42", "--output-dir", str(work / "prep")],
        [
            py,
            str(REPO / "benchmarks" / "floor_train.py"),
            "--train",
            str(work / "prep" / "train"),
            "--validation",
            str(work / "prep" / "validation"),
            "--model-dir",
            str(work / "model"),
        ],
        [
            py,
            str(SRC / "evaluate.py"),
            "--model-dir",
            str(work / "model"),
            "--test-dir",
            str(work / "prep" / "test"),
            "--output-dir",
            str(work / "evaluation"),
        ],
    ]
    results = [measure(step, env) for step in steps]
    return {"wall": sum(r["wall"] for r in results), "peak_mb": max(r["peak_mb"] for r in results)}


def cached_steps(home: Path) -> str:
    newest = max((home / "executions").iterdir(), key=lambda p: p.stat().st_mtime)
    record = json.loads((newest / "execution.json").read_text())
    ran = [s["name"] for s in record["steps"] if s["type"] in ("Processing", "Training") and s["status"] != "Cached"]
    return "no job ran" if not ran else f"jobs ran: {', '.join(ran)}"


def container_view_cost(rounds: int = 40) -> tuple[str, float, float, str]:
    """The per-job cost of the container view: guarded ``/bin/true`` with and without it, interleaved."""
    import statistics
    import time

    sys.path.insert(0, str(REPO / "src"))
    from showcase.local.executors import container
    from showcase.local.executors.subprocesses import guarded

    found = container.availability()
    if not found.available:
        return ("container-view", 0.0, 0.0, f"not available here: {found.reason}")
    with tempfile.TemporaryDirectory() as tmp:
        plain: list[float] = []
        viewed: list[float] = []
        for _ in range(rounds):
            for view_wanted, times in ((False, plain), (True, viewed)):
                with container.prepared(Path(tmp)) as view:
                    start = time.perf_counter()
                    subprocess.run(guarded(["/bin/true"], view if view_wanted else None), check=True)
                    times.append(time.perf_counter() - start)
    cost = statistics.median(viewed) - statistics.median(plain)
    note = f"{cost * 1000:.1f} ms per job (guard alone {statistics.median(plain) * 1000:.0f} ms; target < 50 ms)"
    return ("container-view", cost, 0.0, note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real abalone.data")
    parser.add_argument("--scale", type=int, nargs="*", default=[], help="also run on generated data of these sizes")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data} does not exist")

    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        env = local_env(tmpdir / "home", args.data)
        build = measure([sys.executable, "-c", BUILD], env)
        rows.append(("build", build["wall"], build["peak_mb"], "definition only"))
        hand = floor(args.data, tmpdir / "floor", env)
        rows.append(("floor", hand["wall"], hand["peak_mb"], "3 scripts by hand"))
        cold = measure(pipeline_command(), env)
        budget = 2 * hand["wall"] + build["wall"]
        verdict = "within" if cold["wall"] <= budget else "OVER"
        rows.append(("cold", cold["wall"], cold["peak_mb"], f"{verdict} 2 x floor + build = {budget:.1f} s"))
        cached = measure(pipeline_command(), env)
        rows.append(("cached", cached["wall"], cached["peak_mb"], cached_steps(tmpdir / "home")))
        rows.append(container_view_cost())
        previous: tuple[int, float] | None = None
        for size in args.scale:
            data = tmpdir / f"abalone-{size}.data"
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "scripts" / "make_abalone_like.py"),
                    "--rows",
                    str(size),
                    "--output",
                    str(data),
                    "--source",
                    str(args.data),
                ],
                check=True,
                capture_output=True,
            )
            run = measure(pipeline_command(), local_env(tmpdir / f"home-{size}", data))
            note = ""
            if previous:
                note = f"x{run['wall'] / previous[1]:.2f} time for x{size / previous[0]:g} rows"
            rows.append((f"scale-{size}", run["wall"], run["peak_mb"], note))
            previous = (size, run["wall"])

    print(f"{'run':<16}{'wall s':>9}{'peak MB':>10}  note")
    for name, wall, peak, note in rows:
        print(f"{name:<16}{wall:>9.2f}{peak:>10.0f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
