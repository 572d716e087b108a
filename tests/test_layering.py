"""The layering drawn in pyproject.toml holds: only the AWS adapter, the build package and the pipeline definition
import AWS code, no import runs back up the layers of docs/architecture.md, no two modules import each other, and
the local runtime's parts stand as docs/architecture.md draws them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    contracts = (REPO / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"{contracts} kept, 0 broken" in result.stdout
    assert "No import runs back up the layers" in result.stdout and "No import circles" in result.stdout
