"""A job's command line and environment, as the runner starts it: through the guard, without AWS settings."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence

from showcase.local.processes import guard

GUARD = guard.__file__
"""Run as a file by the host's interpreter, isolated (``-I``) and without site-packages (``-S``): it needs only
the standard library, so its start costs no more than a bare interpreter's."""
_SECRET_PREFIXES = ("AWS_",)
NO_AWS_CONFIG = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""What keeps the host's ``~/.aws`` (profiles, credentials, SSO caches) and an instance's metadata service from
a job's AWS SDKs and CLI: they look there when the environment names no credentials."""


def guarded(command: Sequence[str], view: Mapping[str, str] | None = None) -> list[str]:
    """``command``, started so that it dies with this process where the platform allows (Linux): see ``guard``.

    ``view`` (``{"job_dir": ..., "scratch": ...}``, Linux only; see ``container``) gives it its own /opt/ml.
    """
    if not sys.platform.startswith("linux"):
        if view is not None:
            raise OSError("the container view needs Linux mount namespaces")
        return list(command)
    return [sys.executable, "-I", "-S", GUARD, str(os.getpid()), json.dumps(view), *command]


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The host environment minus AWS settings and credentials, with ``~/.aws`` out of reach (a local job must not
    reach AWS), plus ``extra`` (the local API's endpoint and fixed credentials: ``awsapi.job_environment``)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_SECRET_PREFIXES)}
    env.update(NO_AWS_CONFIG)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
