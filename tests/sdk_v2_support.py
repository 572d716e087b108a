"""The SDK v2 environment for the tests that drive it: made as a build makes it (the user's cache, from the
lock the package ships), once per test session; later sessions find it there."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from showcase import v2env

SDK_V2_VERSION = "2.257.7"
"""What the lock pins (src/showcase/builder/sdk-v2/pyproject.toml)."""
TELEMETRY_OFF = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
"""An SDK config (SAGEMAKER_USER_CONFIG_OVERRIDE) for a process that runs the SDK itself: its telemetry
would reach for an AWS host."""


@functools.cache
def sdk_v2_python() -> Path:
    return v2env.ensure().python


@functools.cache
def uv_cache_dir() -> str:
    """uv's package cache as this machine has it: a test that moves XDG_CACHE_HOME (which uv's cache follows)
    keeps it, so that making an environment there is making it from a warm cache."""
    from uv import find_uv_bin

    found = subprocess.run([find_uv_bin(), "cache", "dir"], capture_output=True, text=True, check=True)
    return found.stdout.strip()
