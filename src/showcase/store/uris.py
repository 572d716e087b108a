"""Parsing and checking ``s3://bucket/key`` URIs so that no key can leave the store's root."""

from __future__ import annotations

import re

from showcase.store.errors import InvalidUri

SCHEME = "s3://"
TEMP_PREFIX = ".showcase-tmp-"
"""Name prefix of the store's temporary files; keys may not use it, listings skip it."""

# S3's bucket naming rules (lower-case letters, digits, dots, hyphens; 3-63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_FORBIDDEN_SEGMENTS = {".", ".."}
MAX_KEY_BYTES = 1024
"""S3's limit on an object key: 1,024 bytes of UTF-8."""
MAX_SEGMENT_BYTES = 255
"""Each ``/``-separated part of a key is a file or directory name here: the file system's NAME_MAX."""


def split_uri(uri: str, *, prefix: bool = False) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``, refusing anything that could escape the root.

    With ``prefix=True`` the key may be empty or end with ``/`` (a listing prefix); an object key may not.
    """
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise InvalidUri(f"expected an s3://bucket/key URI, got {uri!r}")
    bucket, _, key = uri[len(SCHEME) :].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidUri(f"bad bucket name {bucket!r} in {uri!r}: use 3-63 lower-case letters, digits, dots or hyphens")
    _check_key(uri, key, prefix=prefix)
    return bucket, key


def join_uri(bucket: str, key: str) -> str:
    return f"{SCHEME}{bucket}/{key}"


def _check_key(uri: str, key: str, *, prefix: bool) -> None:
    if "\\" in key or "\x00" in key:
        raise InvalidUri(f"key of {uri!r} contains a backslash or NUL character")
    if any(ord(char) < 0x20 for char in key):
        raise InvalidUri(f"key of {uri!r} contains a control character")
    if key.startswith("/"):
        raise InvalidUri(f"key of {uri!r} is absolute (starts with '/'); write s3://bucket/key")
    if not key:
        if prefix:
            return
        raise InvalidUri(f"{uri!r} names a bucket, not an object: add a key")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise InvalidUri(f"key of {_short(uri)} is {size:,} bytes; S3 keys are at most {MAX_KEY_BYTES:,} bytes (UTF-8)")
    segments = key.split("/")
    if prefix and segments[-1] == "":
        segments = segments[:-1]  # "a/b/" lists the "directory" a/b
    for segment in segments:
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidUri(
                f"key of {_short(uri)} has a part of {len(segment.encode('utf-8', 'surrogatepass')):,} bytes between "
                f"slashes; the local store keeps each part as a file name, at most {MAX_SEGMENT_BYTES} bytes"
            )
        if segment == "":
            raise InvalidUri(f"key of {uri!r} has an empty path segment ('//' or a trailing '/')")
        if segment in _FORBIDDEN_SEGMENTS:
            raise InvalidUri(f"key of {uri!r} has a {segment!r} segment, which could escape the store")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidUri(f"key of {uri!r} uses the store's reserved name prefix {TEMP_PREFIX!r}")


def _short(uri: str) -> str:
    """A long URI as a message quotes it: its start and its end."""
    return repr(uri) if len(uri) <= 120 else repr(f"{uri[:80]}...{uri[-20:]}")
