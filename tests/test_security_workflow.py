"""The GitHub workflow passes zizmor's offline security audit (no high-severity finding), and the audit is live:
a copy with a template injection and an unpinned action is flagged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "train_deploy_model.yml"
ZIZMOR = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")


def zizmor(*paths: Path) -> list[dict[str, object]]:
    if not Path(ZIZMOR).is_file():
        pytest.fail("zizmor is not installed: pip install -e '.[dev]'")
    result = subprocess.run(
        [ZIZMOR, "--offline", "--no-progress", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr  # 1x: findings of some severity
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return findings


def high(findings: list[dict[str, object]]) -> list[str]:
    return [
        str(finding["ident"])
        for finding in findings
        if finding.get("determinations", {}).get("severity") == "High"  # type: ignore[union-attr]
    ]


def test_the_workflow_has_no_high_finding() -> None:
    findings = zizmor(WORKFLOW)
    assert high(findings) == [], json.dumps(findings, indent=1)[:3000]


def test_a_hostile_copy_is_flagged(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: pull_request_target\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with:\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    flagged = set(high(zizmor(broken)))
    assert "template-injection" in flagged, flagged
