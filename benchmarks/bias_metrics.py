"""How long Clarify's bias metrics take as the dataset grows (showcase.monitoring.bias).

Prints a table; asserts nothing. Each row: N records of 10 normal features, 30 % of them in the sensitive facet,
random labels and predictions (seeded); the pre-training metrics, then the post-training ones (the flip test,
FT, compares every member of the facet with its nearest neighbours outside it: it dominates, and grows with the
product of the two facets' sizes).

    python benchmarks/bias_metrics.py [--records 2924 10000 30000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from showcase.monitoring import bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[2924, 10_000, 30_000])
    args = parser.parse_args()
    print(f"{'records':>9}  {'pre-training':>12}  {'post-training':>13}")
    rng = np.random.default_rng(0)
    for count in args.records:
        features = rng.normal(size=(count, 10))
        facet, label, predicted = (rng.random(count) < share for share in (0.3, 0.4, 0.4))
        started = time.perf_counter()
        bias.pre_training(list(bias.PRE_TRAINING), label, facet, None)
        middle = time.perf_counter()
        bias.post_training(list(bias.POST_TRAINING), label, predicted, facet, None, features)
        ended = time.perf_counter()
        print(f"{count:>9}  {middle - started:>10.3f} s  {ended - middle:>11.2f} s")


if __name__ == "__main__":
    main()
