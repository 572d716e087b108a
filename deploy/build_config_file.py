#!/usr/bin/env python3
"""Write endpoint_config_adj.json for `aws cloudformation deploy`; see showcase.cli.build_config."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.build_config import entry

if __name__ == "__main__":
    sys.exit(entry())
