#!/usr/bin/env python3
"""Serve, redeploy, inspect or stop the local endpoint of endpoint_config_adj.json; see showcase.cli.endpoint.

python deploy/local_endpoint.py serve --config deploy/endpoint_config_adj.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from showcase.cli.aliases import endpoint as entry

if __name__ == "__main__":
    sys.exit(entry())
