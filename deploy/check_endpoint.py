#!/usr/bin/env python3
"""Fail unless the endpoint serves the config its stack made and is InService.

See showcase.cli.check_endpoint.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.check_endpoint import entry

if __name__ == "__main__":
    sys.exit(entry())
