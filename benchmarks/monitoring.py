"""How long a data-quality monitoring run takes over many captured requests, and how much memory it needs.

Prints a table; asserts nothing. A state directory gets a model package with the Abalone train split's baseline,
an endpoint deployed from it, and N captured requests (one CSV row each, the real test split's rows over and
over), written by the endpoint's own capture writer into hourly files. Rows:

- floor: a fresh interpreter that only reads every capture line and parses its JSON (what any reader of the
  capture format must do), nothing else.
- monitor-N: ``showcase-monitor run`` over the N requests in a fresh interpreter: read, profile, check,
  write statistics.json, constraint_violations.json, report.html and run.json.

Peak memory is the peak resident set of the measured process (getrusage of children).

    python benchmarks/monitoring.py [--records 1000000] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from showcase import preprocess  # noqa: E402
from showcase.monitoring.profile import Profile  # noqa: E402
from showcase.monitoring.statistics import statistics, suggest_constraints  # noqa: E402
from showcase.registry import Registry  # noqa: E402
from showcase.serving.capture import capture_record  # noqa: E402
from showcase.serving.deployment import (  # noqa: E402
    DEFAULT_CAPTURE_URI,
    CaptureConfig,
    Deployment,
    EndpointPaths,
    write_deployment,
)
from showcase.store import ObjectStore  # noqa: E402

ENDPOINT = "benchmark-endpoint"
DATA = REPO / "data" / "abalone.data"

MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": done.returncode, "wall": wall, "peak_mb": peak, "out": done.stdout, "err": done.stderr}))
"""

FLOOR = """
import json, pathlib, sys
lines = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.jsonl")):
    with path.open("rb") as handle:
        for line in handle:
            json.loads(line)
            lines += 1
print(lines)
"""


def measure(command: list[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    if result["code"] not in (0, 3):
        raise SystemExit(f"benchmark command failed ({result['code']}): {result['err']}")
    return result


def prepare(home: Path, records: int, workers: int) -> None:
    prepared = home / "prepared"
    assert preprocess.main(["--input-data", str(DATA), "--output-dir", str(prepared)]) == 0
    store = ObjectStore(home / "store")
    train = (prepared / "baseline" / "train_features.csv").read_text().splitlines()
    baseline = statistics(Profile.of_rows(train))
    quality = {
        "Statistics": {
            "ContentType": "application/json",
            "S3Uri": store.put_bytes("s3://showcase-local/baseline/statistics.json", json.dumps(baseline).encode()),
        },
        "Constraints": {
            "ContentType": "application/json",
            "S3Uri": store.put_bytes(
                "s3://showcase-local/baseline/constraints.json", json.dumps(suggest_constraints(baseline)).encode()
            ),
        },
    }
    arn = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName="Benchmark",
        InferenceSpecification={"Containers": [{"Image": "image", "ModelDataUrl": "s3://showcase-local/m.tar.gz"}]},
        ModelApprovalStatus="Approved",
        DriftCheckBaselines={"ModelDataQuality": quality},
    )["ModelPackageArn"]
    capture = CaptureConfig(enabled=True, sampling_percentage=100, destination_uri=DEFAULT_CAPTURE_URI)
    write_deployment(EndpointPaths(home, ENDPOINT), Deployment(ENDPOINT, arn, "", str(home), 1, capture))

    # N requests over the last few hours, one file per worker and hour, as the endpoint writes them.
    rows = [line.split(",", 1)[1].encode() for line in (prepared / "test" / "test.csv").read_text().splitlines()]
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    per_hour = -(-records // 3)
    for hour in range(3):
        when = start + timedelta(hours=hour)
        count = min(per_hour, records - hour * per_hour)
        for worker in range(workers):
            key = f"datacapture/{ENDPOINT}/AllTraffic/{when:%Y/%m/%d/%H}/00-00-000-worker{worker}.jsonl"
            path = store.path_of(f"s3://showcase-local/{key}")
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w") as out:
                for index in range(worker, count, workers):
                    moment = when + timedelta(microseconds=index * 1000)
                    record = capture_record("text/csv", rows[index % len(rows)], "text/csv", b"9.5\n", moment)
                    out.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workers", type=int, default=4, help="capture files per hour (one per endpoint worker)")
    args = parser.parse_args()
    print(f"{'run':<16}{'records':>10}{'wall s':>9}{'peak MB':>9}  note")
    for records in args.records:
        with tempfile.TemporaryDirectory(prefix="monitoring-bench-") as tmp:
            home = Path(tmp)
            prepare(home, records, args.workers)
            size = sum(p.stat().st_size for p in (home / "store").rglob("*.jsonl")) / 1e6
            floor = measure([sys.executable, "-c", FLOOR, str(home / "store")])
            print(f"{'floor':<16}{records:>10}{floor['wall']:>9.2f}{floor['peak_mb']:>9.0f}  json.loads of every line")
            run = measure([sys.executable, "-m", "showcase", "monitor", "--home", str(home), "run", "--endpoint",
                           ENDPOINT, "--since", "1d"])  # fmt: skip
            verdict = str(run["out"]).splitlines()[1] if run["out"] else "?"
            ratio = float(run["wall"]) / float(floor["wall"])  # type: ignore[arg-type]
            print(
                f"{'monitor-' + str(records):<16}{records:>10}{run['wall']:>9.2f}{run['peak_mb']:>9.0f}  "
                f"x{ratio:.2f} floor; {size:.0f} MB of captures; {verdict}"
            )


if __name__ == "__main__":
    main()
