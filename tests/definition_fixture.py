"""The Abalone pipeline's definition as the SDK builds it offline, shipped as ``tests/fixtures/``'s JSON so that
engine tests parse the document SageMaker receives without importing the SDK.

Regenerate it after changing the pipeline: ``python -m tests.definition_fixture``. ``tests/test_definition.py``
checks it against a fresh build (code uploads are named by their content's SHA-256, which is masked there, so
editing a processing script does not make the fixture stale; changing the pipeline does).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "abalone-definition.json"
ROLE = "arn:aws:iam::123456789012:role/showcase"
_CODE_DIGEST = re.compile(r"/code/[0-9a-f]{64}/")


def build() -> dict[str, Any]:
    """The definition ``run_pipeline.py`` would publish to eu-west-1 (no network, no credentials needed)."""
    from showcase.pipeline import get_pipeline

    pipeline = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="showcase-bucket")
    return dict(json.loads(pipeline.definition()))


def load() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


def masked(definition: dict[str, Any]) -> str:
    """The document with each code upload's content digest replaced, for comparing builds."""
    return _CODE_DIGEST.sub("/code/<sha256>/", json.dumps(definition, indent=1, sort_keys=True))


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE.relative_to(Path.cwd()) if FIXTURE.is_relative_to(Path.cwd()) else FIXTURE.name}")
