"""Write an Abalone-like data set of any size, for scale runs of the pipeline.

Rows are drawn from the real data (``--source``) with replacement, and each measurement gets a
little multiplicative noise, so the file has UCI's format (headerless CSV, 9 fields, sex M/F/I,
whole rings) and roughly its distributions. Seeded: the same arguments give the same bytes.

    python scripts/make_abalone_like.py --rows 1000000 --output /tmp/abalone-1m.data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / "data" / "abalone.data"


def generate(source: Path, rows: int, seed: int) -> pd.DataFrame:
    real = pd.read_csv(source, header=None)
    rng = np.random.default_rng(seed)
    sample = real.iloc[rng.integers(0, len(real), size=rows)].reset_index(drop=True)
    noise = rng.normal(1.0, 0.02, size=(rows, 7))
    sample.iloc[:, 1:8] = (sample.iloc[:, 1:8].to_numpy(dtype=float) * noise).round(4)
    return sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="how many rows to write")
    parser.add_argument("--output", type=Path, required=True, help="file to write")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the real abalone.data to draw from")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if not args.source.is_file():
        parser.error(f"--source {args.source} does not exist; give the path of abalone.data")
    generate(args.source, args.rows, args.seed).to_csv(args.output, header=False, index=False)
    print(f"wrote {args.rows} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
