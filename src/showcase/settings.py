"""Typed settings read from the environment, with their defaults in one place.

Every variable has the prefix ``SHOWCASE_``; a bad value fails loudly with the variable's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from showcase.errors import UsageError

PREFIX = "SHOWCASE_"


def _get(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _get_int(name: str, default: int, minimum: int = 1) -> int:
    raw = _get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise UsageError(f"{PREFIX}{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where the local runtime keeps its state, and how hard it may work."""

    home: Path
    """Root of the local runtime's state: object store, registry, execution records."""
    input_data: str | None
    """A local copy of the Abalone data to use instead of downloading it (``SHOWCASE_INPUT_DATA``)."""
    max_parallel_steps: int
    """How many independent steps the local runtime runs at once."""

    @property
    def store_root(self) -> Path:
        return self.home / "store"

    @property
    def registry_path(self) -> Path:
        return self.home / "registry.sqlite"

    @property
    def executions_root(self) -> Path:
        return self.home / "executions"


def load(home: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings; ``home`` (a ``--home`` flag) wins over ``SHOWCASE_HOME``."""
    root = Path(home) if home is not None else Path(_get("HOME", ".showcase"))
    return Settings(
        home=root.resolve(),
        input_data=_get("INPUT_DATA", "") or None,
        max_parallel_steps=_get_int("MAX_PARALLEL_STEPS", 2),
    )
