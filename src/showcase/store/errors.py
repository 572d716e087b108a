"""Errors of the local object store (kept in the package: only the store raises them)."""

from __future__ import annotations

from showcase.errors import ShowcaseError


class StoreError(ShowcaseError):
    """The local object store refused a request or could not complete it."""


class InvalidUri(StoreError):
    """An s3:// URI is malformed or its key could escape the store's root."""


class NoSuchKey(StoreError):
    """No object (or, for a prefix, no object under it) exists at a URI."""

    def __init__(self, uri: str, detail: str = "") -> None:
        super().__init__(f"no object at {uri}{detail}")
        self.uri = uri
