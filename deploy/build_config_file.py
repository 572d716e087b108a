#!/usr/bin/env python3
"""Write endpoint_config_adj.json for `aws cloudformation deploy`; see showcase.cli.build_config."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.build_config import main
from showcase.cli.common import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
