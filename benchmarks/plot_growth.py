"""Draw how the pipeline's time and memory grow with the rows, from ``pipeline.py --growth-json``.

    python benchmarks/plot_growth.py docs/data-growth.json docs/data-growth.png

One PNG, two panels: seconds per step (stacked) and end to end, against rows; peak memory against rows,
with the input size for scale. Needs matplotlib (installed with the project's dependencies).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STEPS = ("PrepareData", "TrainModel", "EvaluateModel")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", type=Path, help="the JSON file pipeline.py --growth-json wrote")
    parser.add_argument("output", type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    results = json.loads(args.figures.read_text())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    millions = [result["rows"] / 1e6 for result in results]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    bottom = [0.0] * len(results)
    for step in STEPS:
        seconds = [result[step] for result in results]
        times.bar(millions, seconds, width=0.6, bottom=bottom, label=step)
        bottom = [b + s for b, s in zip(bottom, seconds, strict=True)]
    times.plot(millions, [result["wall"] for result in results], "ko-", label="end to end")
    times.set(xlabel="rows (millions)", ylabel="seconds", title="Time")
    times.legend(fontsize=8)
    memory.plot(millions, [result["peak_mb"] for result in results], "o-", label="peak memory (largest process)")
    memory.plot(millions, [result["input_mb"] for result in results], "s--", label="input file")
    memory.set(xlabel="rows (millions)", ylabel="MB", title="Memory")
    memory.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
