"""The GitHub workflow passes zizmor's offline security audit with no finding of any severity, none suppressed by a
configuration file or an ignore comment; and the audit is live: a copy with a template injection is flagged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
ZIZMOR = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")


def zizmor(*paths: Path) -> tuple[int, list[dict[str, object]]]:
    """zizmor's exit code and findings, every severity and confidence, no configuration file read."""
    if not Path(ZIZMOR).is_file():
        pytest.fail("zizmor is not installed: pip install -e '.[dev]'")
    result = subprocess.run(
        [ZIZMOR, "--offline", "--no-config", "--no-progress", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr  # 1x: findings of some severity
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return result.returncode, findings


def high(findings: list[dict[str, object]]) -> list[str]:
    return [
        str(finding["ident"])
        for finding in findings
        if finding.get("determinations", {}).get("severity") == "High"  # type: ignore[union-attr]
    ]


def test_the_workflow_has_no_finding_at_all() -> None:
    assert WORKFLOWS, "no workflow found"
    code, findings = zizmor(*WORKFLOWS)
    assert findings == [], json.dumps(findings, indent=1)[:3000]
    assert code == 0


def test_no_finding_is_suppressed_in_the_workflow() -> None:
    for workflow in WORKFLOWS:
        assert "zizmor: ignore" not in workflow.read_text(), workflow.name


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
    code, findings = zizmor(broken)
    flagged = set(high(findings))
    assert code != 0
    assert "template-injection" in flagged, flagged
