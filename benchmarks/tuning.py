"""What tuning buys on the Abalone data, what it costs locally, and what the same tuning costs on SageMaker.

Runs the showcase twice on a new state directory each, through ``run_pipeline.py --local`` on the bundled data
(split seed 42): the default pipeline (the AWS example's hyperparameters) and the tuned variant
(``-k '{"tune": true, ...}'``: Bayesian search on validation RMSE, early stopping Auto, tuning seed 42).
Prints the registered model's test MSE for each, the trials, and wall times (the whole run; the tuning step).

Beside them, the same tuning on SageMaker: every trial is a training job, and a training job "comes with a
substantial start-up overhead (often almost two minutes)" (Syne Tune's tutorial on its SageMaker backend,
syne-tune/syne-tune docs/tutorials/basics/basics_backend.md). That figure plus each trial's own training time
gives the training-job time the trials add up to, and the tuning job's wall time with MaxParallelTrainingJobs
trials at a time. A floor, not a quote: it leaves out the tuning job's own scheduling between batches.

    python benchmarks/tuning.py [--trials 20] [--parallel 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "abalone.data"
SAGEMAKER_STARTUP_S = 120.0
"""A SageMaker training job's start-up overhead: "often almost two minutes" (Syne Tune's SageMaker backend docs)."""


def run(home: Path, *kwargs: str) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    env.update(SHOWCASE_HOME=str(home), SHOWCASE_INPUT_DATA=str(DATA), PYTHONPATH=str(REPO / "src"))
    command = [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "-n", "showcase.pipeline", "--local",
               "--quiet-definition", *kwargs]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the run failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    (record,) = (json.loads(p.read_text()) for p in (home / "executions").glob("*/execution.json"))
    return wall, record


def test_mse(home: Path) -> float:
    sys.path.insert(0, str(REPO / "src"))
    from showcase.registry import Registry

    registry = Registry(home / "registry.sqlite")
    (summary,) = registry.list_model_packages()["ModelPackageSummaryList"]
    extras = registry.describe_model_package_extras(ModelPackageName=summary["ModelPackageArn"])
    return float(extras["Metrics"]["regression_metrics"]["mse"]["value"])


def seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args(argv)
    tuned_kwargs = json.dumps({"tune": True, "tuning_max_jobs": args.trials, "tuning_max_parallel_jobs": args.parallel})
    with tempfile.TemporaryDirectory() as tmp:
        default_wall, _ = run(Path(tmp, "default"))
        tuned_wall, record = run(Path(tmp, "tuned"), "-k", tuned_kwargs)
        default_mse, tuned_mse = test_mse(Path(tmp, "default")), test_mse(Path(tmp, "tuned"))
    tune = next(step for step in record["steps"] if step["name"] == "TuneModel")
    summaries = tune["properties"]["TrainingJobSummaries"]
    trial_times = [seconds(s["TrainingStartTime"], s["TrainingEndTime"]) for s in summaries]
    counters = tune["properties"]["TrainingJobStatusCounters"]
    tune_wall = seconds(tune["start"], tune["end"])
    job_time = sum(SAGEMAKER_STARTUP_S + t for t in trial_times)
    batches = math.ceil(len(summaries) / args.parallel)
    sagemaker_wall = batches * (SAGEMAKER_STARTUP_S + max(trial_times))
    best = summaries[0]["TunedHyperParameters"]
    print(f"Abalone, split seed 42, {len(summaries)} trials ({counters['Completed']} completed, "
          f"{counters['Stopped']} stopped early), {args.parallel} at a time, on {os.cpu_count()} cores")  # fmt: skip
    print("| hyperparameters | test MSE | trials | local wall time (run) | local tuning step | "
          "SageMaker training-job time | SageMaker tuning wall time |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| default (AWS example) | {default_mse:.3f} | 1 | {default_wall:.0f} s | - | - | - |")
    print(f"| tuned (Bayesian, seed 42) | {tuned_mse:.3f} | {len(summaries)} | {tuned_wall:.0f} s | "
          f"{tune_wall:.1f} s | {job_time / 60:.0f} min | {sagemaker_wall / 60:.0f} min |")  # fmt: skip
    print(f"best trial: {summaries[0]['TrainingJobName']} {json.dumps(best)}")
    print(f"mean local trial time {sum(trial_times) / len(trial_times):.2f} s; SageMaker figures add "
          f"{SAGEMAKER_STARTUP_S:.0f} s start-up per training job (Syne Tune's SageMaker backend docs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
