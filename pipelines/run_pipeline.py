"""Build, publish, start and watch the training pipeline; ``--help`` lists the flags.

A thin entry point: the implementation is ``showcase.cli.run_pipeline`` (in ../src).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.run_pipeline import entry

if __name__ == "__main__":
    sys.exit(entry())
