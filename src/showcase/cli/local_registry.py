"""Opening the local model registry from a command line: it must exist, and a lock says who holds it
(``showcase.registry.locks``)."""

from __future__ import annotations

import sys

from showcase.errors import NoSuchResource
from showcase.registry import Registry
from showcase.registry.locks import lock_reported, locked_by
from showcase.settings import Settings

DEFAULT_BUSY_TIMEOUT_S = 10.0


def open_registry(settings: Settings, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Registry:
    """The registry under ``settings.home``; NoSuchResource when there is none (nothing is created)."""
    path = settings.registry_path
    if not path.is_file():
        raise NoSuchResource(
            f"no model registry at {path}: run a pipeline with --local first, or point --home (SHOWCASE_HOME) "
            "at the directory that holds registry.sqlite"
        )

    def waiting() -> None:
        print(
            f"the registry {path} is {locked_by(path)}; waiting up to {busy_timeout_s:g} s",
            file=sys.stderr,
            flush=True,
        )

    with lock_reported(path, busy_timeout_s):
        return Registry.from_settings(settings, busy_timeout_s=busy_timeout_s, on_wait=waiting)
