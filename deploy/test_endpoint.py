#!/usr/bin/env python3
"""The staging test: send the registered test split through an endpoint, fail unless its MSE and latency hold.

See showcase.cli.staging.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.staging import entry

if __name__ == "__main__":
    sys.exit(entry())
