#!/usr/bin/env python3
"""Send a CSV file to an endpoint and print one prediction per row; see showcase.cli.predict."""

import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.common import run_cli
from showcase.cli.predict import main

SAMPLE_PAYLOAD = Path(__file__).resolve().parent / "sample_payload.csv"


def predict_main(argv: Sequence[str] | None = None) -> int:
    return main(argv, default_payload=str(SAMPLE_PAYLOAD))


if __name__ == "__main__":
    sys.exit(run_cli(predict_main))
