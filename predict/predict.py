#!/usr/bin/env python3
"""Send a CSV file to an endpoint and print one prediction per row; see showcase.cli.predict."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.predict import entry

SAMPLE_PAYLOAD = Path(__file__).resolve().parent / "sample_payload.csv"


if __name__ == "__main__":
    sys.exit(entry(default_payload=str(SAMPLE_PAYLOAD)))
