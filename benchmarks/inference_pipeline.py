#!/usr/bin/env python3
"""What the preprocessing container of the showcase's inference pipeline adds to a request, in one worker.

    python benchmarks/inference_pipeline.py [--repeat 200]

PrepareData (``preprocess.py --serving-code``) writes the preprocessing model from the bundled Abalone data; a
booster of the pipeline's hyperparameters is trained on its train split. Then, in this process, without HTTP
(what a worker does per request): the raw records through the preprocessing container (``containers.through``:
the serving contract and ``preprocess_serving.py``) and XGBoost's decode, predict and encode, against the same
records already encoded through XGBoost alone; for 1 and 1,000 records a request, the median of ``--repeat``
runs. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xgboost as xgb

from showcase.archives import extract_model_archive
from showcase.serving import codec
from showcase.serving.containers import FrontSpec, load_front, through

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out"
        script = REPO / "src" / "showcase" / "preprocess.py"
        data = REPO / "data" / "abalone.data"
        command = [sys.executable, str(script), "--input-data", str(data), "--output-dir", str(out)]
        subprocess.run([*command, "--serving-code", str(script.parent)], check=True, capture_output=True)
        extract_model_archive(out / "preprocessing_model" / "model.tar.gz", Path(work) / "model")
        front = load_front([FrontSpec("preprocessing", str(Path(work) / "model"), ENVIRONMENT)])
        train = np.loadtxt(out / "train" / "train.csv", delimiter=",")
        params = {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2, "nthread": 1, "seed": 0}
        booster = xgb.train(params, xgb.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=50)
        raw = [",".join(line.split(",")[:8]) for line in data.read_text().splitlines()]

        def alone(body: bytes) -> bytes:
            rows = codec.decode(body, codec.CSV, booster.num_features())
            return codec.encode(np.asarray(booster.inplace_predict(rows, validate_features=False)), codec.CSV)

        print(f"{'records':>8} {'XGBoost alone':>15} {'pipeline':>10} {'preprocessing':>14}")
        for count in (1, 1000):
            raw_body = "\n".join(raw[:count]).encode()
            encoded, _ = through(front, raw_body, "text/csv")
            xgb_ms = median_ms(lambda body=encoded: alone(body), args.repeat)
            pipe_ms = median_ms(lambda body=raw_body: alone(through(front, body, "text/csv")[0]), args.repeat)
            front_ms = median_ms(lambda body=raw_body: through(front, body, "text/csv"), args.repeat)
            print(f"{count:>8} {xgb_ms:>12.3f} ms {pipe_ms:>7.3f} ms {front_ms:>11.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
