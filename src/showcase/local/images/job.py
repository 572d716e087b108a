"""The container's conventions inside a built-in image's job: its JSON configuration, its failure file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def read_json(path: Path) -> dict[str, Any]:
    """A configuration file the runner wrote (``input/config/*.json``): a JSON object."""
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a JSON object")
    return value


def failed(path: Path, reason: str) -> int:
    """Write ``reason`` where the container writes a job's failure (``output/failure`` or ``output/message``), say it
    on stderr, and return the job's exit code."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason + "\n", encoding="utf-8")
    print(reason, file=sys.stderr)
    return 1
