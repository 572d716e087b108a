"""The large-input benchmark's job: writes the input's size and first line; reads nothing else."""

import argparse
import json
import os
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--input-data", required=True)
parser.add_argument("--output-dir", required=True)
args = parser.parse_args()
with open(args.input_data, "rb") as data:
    first = data.readline(1024).decode(errors="replace").rstrip("\n")
out = Path(args.output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "summary.json").write_text(json.dumps({"bytes": os.path.getsize(args.input_data), "first_line": first}))
