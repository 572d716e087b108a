"""What a build gives (``Built``), and the two kinds of build: a module of its own, which every part of the builder
imports and which imports none of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCAL, PUBLISHING = "local", "publishing"
"""The two kinds of build."""


@dataclass
class Built:
    """What a build gives: the pipeline's name, its definition and the objects to upload before it runs."""

    pipeline_name: str
    definition: dict[str, Any]
    uploads: dict[str, bytes]
    cached: bool = False
    """Taken from the build cache rather than built."""
    patched: tuple[str, ...] = ()
    """Files whose new content was patched into the cached definition instead of building it again."""
    rebuilt_because: str | None = None
    """Why the definition kept for this request was not used (None: there was none, or ``--rebuild``)."""
    sdk: str | None = None
    """The version of the SageMaker Python SDK that built the definition."""
    sdk_v2_because: str | None = None
    """For a build in the SDK v2 environment: the import that says the module is written for the SDK v2."""
    recorded: tuple[dict[str, Any], dict[str, Any]] | None = None
    """For a build in the SDK v2 environment: the inputs it read and its patch plan, as a cache entry keeps them
    (``cache.inputs_of``), recorded in that process."""
