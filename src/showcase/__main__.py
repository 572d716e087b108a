"""``python -m showcase``: the ``showcase`` command, where its console script is not on PATH."""

import sys

from showcase.cli.main import entry

if __name__ == "__main__":
    sys.exit(entry())
