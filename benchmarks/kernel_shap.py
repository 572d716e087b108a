"""How long ClarifyCheck's SHAP values take: XGBoost's exact TreeSHAP against KernelSHAP (monitoring.kernel_shap).

Prints a table; asserts nothing. N records of 10 normal features (seeded) and a booster of 40 rounds, depth 4,
trained on them: first the one-XGBoost-container path (``pred_contribs``), then KernelSHAP over the same booster's
predictions, as an inference pipeline gets it, with one baseline row or the k-means background of 10 centres, for
each ``num_samples``. An inference pipeline adds its containers' own time per call (a text/csv body each way).

    python benchmarks/kernel_shap.py [--records 2924] [--samples 50 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import xgboost as xgb

from showcase.monitoring import kernel_shap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2924)
    parser.add_argument("--samples", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(args.records, 10))
    label = rows @ rng.normal(size=10) + np.sin(rows[:, 0])
    params = {"objective": "reg:squarederror", "max_depth": 4, "nthread": 1, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(rows, label=label), num_boost_round=40)
    names = [f"f{index}" for index in range(10)]
    print(f"{args.records} records, 10 features")
    print(f"{'method':<12} {'background':<16} {'num_samples':>11}  {'time':>8}")
    started = time.perf_counter()
    booster.predict(xgb.DMatrix(rows), pred_contribs=True)
    print(f"{'TreeSHAP':<12} {'(the trees)':<16} {'-':>11}  {time.perf_counter() - started:>6.2f} s")
    kernel_shap.explain(lambda r: booster.inplace_predict(r), rows[:2], names, {"baseline": [[0.0] * 10]})  # warm
    for background, config in (("1 baseline row", {"baseline": [[0.0] * 10]}), ("k-means, 10", {"num_clusters": 10})):
        for samples in args.samples:
            started = time.perf_counter()
            kernel_shap.explain(
                lambda r: booster.inplace_predict(r), rows, names, {**config, "num_samples": samples, "seed": 0}
            )
            print(f"{'KernelSHAP':<12} {background:<16} {samples:>11}  {time.perf_counter() - started:>6.2f} s")


if __name__ == "__main__":
    main()
