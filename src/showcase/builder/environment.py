"""Changing the process environment for one block, and putting it back as it was when the block ends."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set each variable to its value (``None``: unset it) for the block; afterwards each has its old value
    again, or is unset if it had none."""
    saved = {name: os.environ.get(name) for name in changes}
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
