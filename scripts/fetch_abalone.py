"""Download UCI's abalone.data and check it is the exact file the tests expect.

CI outside this project's own machines (GitHub Actions) uses it to get the data the test suite
reads through SHOWCASE_TEST_DATA:

    python scripts/fetch_abalone.py --output "$RUNNER_TEMP/abalone.data"
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.request
from pathlib import Path

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/abalone/abalone.data"
SHA256 = "de37cdcdcaaa50c309d514f248f7c2302a5f1f88c168905eba23fe2fbc78449f"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="where to write abalone.data")
    parser.add_argument("--url", default=URL, help=f"where to download it from (default: {URL})")
    args = parser.parse_args(argv)
    with urllib.request.urlopen(args.url, timeout=60) as response:
        payload = response.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != SHA256:
        print(f"error: {args.url} has sha256 {digest}, expected {SHA256}; not written", file=sys.stderr)
        return 1
    args.output.write_bytes(payload)
    print(f"wrote {len(payload)} bytes to {args.output} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
