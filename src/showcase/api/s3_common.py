"""What the S3 handlers share: buckets and keys as store paths, S3's errors, ETags and times.

The store holds bytes only: an object's ETag is derived from its file (size, modification time, inode), not
its MD5, and its ``Content-Type`` is S3's default ``binary/octet-stream`` (metadata sent with a PutObject is
not kept). A bucket is a directory of the store's root.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from showcase.api.errors import ApiError
from showcase.api.state import State
from showcase.store import StoreError, join_uri, split_uri

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
_RANGE = re.compile(r"^bytes=(?P<first>[0-9]*)-(?P<last>[0-9]*)$")


def no_such_bucket(bucket: str) -> ApiError:
    return ApiError("NoSuchBucket", f"The specified bucket does not exist: {bucket}", 404)


def no_such_key(bucket: str, key: str) -> ApiError:
    return ApiError("NoSuchKey", f"The specified key does not exist: s3://{bucket}/{key}", 404)


def invalid_argument(message: str) -> ApiError:
    return ApiError("InvalidArgument", message)


def bucket_dir(state: State, bucket: str, *, must_exist: bool = True) -> Path:
    """The bucket's directory; InvalidBucketName for a name S3 refuses, NoSuchBucket when it is not there."""
    try:
        split_uri(f"s3://{bucket}/", prefix=True)
    except StoreError as exc:
        raise ApiError("InvalidBucketName", f"The specified bucket is not valid: {exc}") from None
    path = state.store.root / bucket
    if must_exist and not path.is_dir():
        raise no_such_bucket(bucket)
    return path


def object_uri(state: State, bucket: str, key: str) -> str:
    """``s3://bucket/key`` once the bucket exists and the key is one the store can hold."""
    bucket_dir(state, bucket)
    uri = join_uri(bucket, key)
    try:
        state.store.path_of(uri)
    except StoreError as exc:
        raise invalid_argument(f"the local object store cannot hold key {key!r}: {exc}") from None
    return uri


def object_file(state: State, bucket: str, key: str) -> tuple[Path, os.stat_result]:
    """The object's file and its stat; NoSuchKey when there is none."""
    path = state.store.path_of(object_uri(state, bucket, key))
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise no_such_key(bucket, key) from None
    if not path.is_file():
        raise no_such_key(bucket, key)
    return path, stat


def etag(stat: os.stat_result) -> str:
    """A quoted ETag that changes whenever the object's file is written again."""
    digest = hashlib.md5(f"{stat.st_size}-{stat.st_mtime_ns}-{stat.st_ino}".encode(), usedforsecurity=False)
    return f'"{digest.hexdigest()}"'


def modified(stat: os.stat_result) -> datetime:
    """LastModified, in whole seconds as S3 keeps it, rounded up: never before the object was written, so a
    file written a moment before its upload is not newer than the object (what ``aws s3 sync`` compares)."""
    return datetime.fromtimestamp(math.ceil(stat.st_mtime), timezone.utc)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` as (offset, length) within ``size``; None for no range; InvalidRange when unsatisfiable.

    A header that is not one single bytes range is ignored (the whole object is sent), as S3 does.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group("first") and not match.group("last")):
        return None
    first, last = match.group("first"), match.group("last")
    if not first:  # the last N bytes
        length = min(int(last), size)
        if length == 0:
            raise _invalid_range(header, size)
        return size - length, length
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise _invalid_range(header, size)
    return start, end - start + 1


def _invalid_range(header: str, size: int) -> ApiError:
    return ApiError(
        "InvalidRange", f"The requested range is not satisfiable: {header} of an object of {size} bytes", 416
    )
