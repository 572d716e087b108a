"""S3 objects over the object store: PutObject, GetObject (ranges), HeadObject, CopyObject, DeleteObject(s).

PutObject's body streams from the connection into the store's own atomic writer (``ObjectStore.writer``): the
object appears whole once the body arrived and matched its declared length and checksums, or not at all. An
aws-chunked body is decoded as it streams (``s3_chunked``).
GetObject answers with a file slice that the app streams; no object is held whole in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, BinaryIO
from urllib.parse import unquote

from showcase.api.errors import ApiError
from showcase.api.s3_chunked import AwsChunked, is_aws_chunked
from showcase.api.s3_common import (
    DEFAULT_CONTENT_TYPE,
    byte_range,
    etag,
    modified,
    object_file,
    object_uri,
)
from showcase.api.state import BodyStream, Call, FileSlice, Handler, Reply

_RESPONSE_OVERRIDES = {
    "ResponseContentType": "ContentType",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseCacheControl": "CacheControl",
    "ResponseExpires": "Expires",
}


_HASHES: dict[str, Callable[[], Any]] = {
    "ContentMD5": lambda: hashlib.md5(usedforsecurity=False),
    "ChecksumSHA1": lambda: hashlib.sha1(usedforsecurity=False),
    "ChecksumSHA256": hashlib.sha256,
}


class Digests:
    """The checksums a request declared (``Content-MD5``, ``x-amz-checksum-*``), computed as the body streams."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.expected = {name: params[name] for name in (*_HASHES, "ChecksumCRC32") if params.get(name)}
        self._hashes = {name: _HASHES[name]() for name in self.expected if name in _HASHES}
        self._crc32 = 0

    def update(self, chunk: bytes) -> None:
        if "ChecksumCRC32" in self.expected:
            self._crc32 = zlib.crc32(chunk, self._crc32)
        for hasher in self._hashes.values():
            hasher.update(chunk)

    def check(self) -> dict[str, str]:
        """The checksums to echo; BadDigest (Content-MD5) or InvalidRequest (x-amz-checksum-*) on a mismatch."""
        computed = {name: base64.b64encode(hasher.digest()).decode() for name, hasher in self._hashes.items()}
        if "ChecksumCRC32" in self.expected:
            computed["ChecksumCRC32"] = base64.b64encode(self._crc32.to_bytes(4, "big")).decode()
        for name, value in computed.items():
            if value != self.expected[name]:
                if name == "ContentMD5":
                    raise ApiError("BadDigest", "The Content-MD5 you specified did not match what we received.")
                algorithm = name.removeprefix("Checksum").lower()
                raise ApiError("InvalidRequest", f"Value for x-amz-checksum-{algorithm} header is invalid.")
        return {name: value for name, value in computed.items() if name != "ContentMD5"}


def body_of(call: Call) -> tuple[BodyStream, dict[str, Any]]:
    """A streamed request's data and its parameters as the handler reads them; an aws-chunked body is decoded as it
    streams (``s3_chunked``), its length and trailing checksum taken from its own headers and trailer."""
    assert call.stream is not None
    if not is_aws_chunked(call.headers):
        return call.stream, call.params
    body = AwsChunked(call.stream, call.headers)
    return body, body.params(call.params)


async def receive_into(
    context: AbstractContextManager[BinaryIO], stream: BodyStream, params: dict[str, Any]
) -> dict[str, str]:
    """Write the streamed body into the file ``context`` opens (an object is in place once it closes without an
    error); return the checksums to echo. On any failure the context is closed with it, so nothing is written."""
    digests = Digests(params)
    declared = params.get("ContentLength")
    size = 0
    out = context.__enter__()
    try:
        async for chunk in stream:
            out.write(chunk)
            digests.update(chunk)
            size += len(chunk)
        if isinstance(stream, AwsChunked):  # its checksum came after the data
            digests.expected.update(stream.checksums())
        if declared is not None and size != declared:
            raise ApiError(
                "IncompleteBody",
                f"You did not provide the number of bytes specified by the Content-Length: {size} of {declared}",
            )
        echoed = digests.check()
    except BaseException as exc:
        context.__exit__(type(exc), exc, exc.__traceback__)  # the temporary file goes; no object changes
        raise
    await asyncio.get_running_loop().run_in_executor(None, context.__exit__, None, None, None)  # fsync, rename
    return echoed


async def put_object(call: Call) -> dict[str, Any]:
    params = call.params
    uri = object_uri(call.state, params["Bucket"], params["Key"])
    stream, params = body_of(call)
    echoed = await receive_into(call.state.store.writer(uri), stream, params)
    return {"ETag": etag(call.state.store.path_of(uri).stat()), **echoed}


def _described(call: Call) -> tuple[Any, Any, dict[str, Any], tuple[int, int] | None]:
    params = call.params
    path, stat = object_file(call.state, params["Bucket"], params["Key"])
    _check_conditions(params, etag(stat), modified(stat))
    span = byte_range(params.get("Range"), stat.st_size)
    result: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "ContentLength": stat.st_size,
        "ContentType": DEFAULT_CONTENT_TYPE,
        "ETag": etag(stat),
        "LastModified": modified(stat),
    }
    if span is not None:
        result.update(ContentLength=span[1], ContentRange=f"bytes {span[0]}-{span[0] + span[1] - 1}/{stat.st_size}")
    result.update({target: params[name] for name, target in _RESPONSE_OVERRIDES.items() if params.get(name)})
    return path, stat, result, span


def get_object(call: Call) -> Reply:
    path, stat, result, span = _described(call)
    offset, length = span if span is not None else (0, stat.st_size)
    return Reply(result, 206 if span is not None else None, FileSlice(path, offset, length))


def head_object(call: Call) -> Reply:
    _, _, result, span = _described(call)
    return Reply(result, 206 if span is not None else None)


def _check_conditions(params: dict[str, Any], tag: str, last_modified: datetime) -> None:
    """If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since (304), as S3 applies them."""
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
    if if_match is not None and not _tag_matches(if_match, tag):
        raise ApiError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412)
    since = params.get("IfUnmodifiedSince")
    if if_match is None and since is not None and last_modified > _aware(since):
        raise ApiError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412)
    if if_none_match is not None and _tag_matches(if_none_match, tag):
        raise ApiError("NotModified", "Not Modified", 304)
    since = params.get("IfModifiedSince")
    if if_none_match is None and since is not None and last_modified <= _aware(since):
        raise ApiError("NotModified", "Not Modified", 304)


def _tag_matches(header: str, tag: str) -> bool:
    wanted = {value.strip().strip('"') for value in header.split(",")}
    return "*" in wanted or tag.strip('"') in wanted


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def copy_source(text: str) -> tuple[str, str]:
    """``bucket/key`` (URL-encoded, maybe with a leading ``/`` and ``?versionId=``) -> (bucket, key)."""
    source = unquote(text.split("?versionId=", 1)[0]).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise ApiError("InvalidArgument", f"Copy Source must mention the source bucket and key: {text!r}")
    return bucket, key


def copy_object(call: Call) -> dict[str, Any]:
    params = call.params
    bucket, key = copy_source(params["CopySource"])
    source, _ = object_file(call.state, bucket, key)
    uri = object_uri(call.state, params["Bucket"], params["Key"])
    if (bucket, key) == (params["Bucket"], params["Key"]) and params.get("MetadataDirective") != "REPLACE":
        raise ApiError(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the "
            "object's metadata, storage class, website redirect location or encryption attributes.",
        )
    with source.open("rb") as src, call.state.store.writer(uri) as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    stat = call.state.store.path_of(uri).stat()
    return {"CopyObjectResult": {"ETag": etag(stat), "LastModified": modified(stat)}}


def delete_object(call: Call) -> dict[str, Any]:
    """Deleting a key that is not there succeeds, as on S3."""
    call.state.store.delete(object_uri(call.state, call.params["Bucket"], call.params["Key"]))
    return {}


def delete_objects(call: Call) -> dict[str, Any]:
    bucket = call.params["Bucket"]
    request = call.params.get("Delete") or {}
    objects = request.get("Objects") or []
    if len(objects) > 1000:
        raise ApiError("MalformedXML", "DeleteObjects takes at most 1000 keys")
    deleted, errors = [], []
    for item in objects:
        key = item.get("Key", "")
        try:
            call.state.store.delete(object_uri(call.state, bucket, key))
        except ApiError as exc:
            if exc.code == "NoSuchBucket":
                raise
            errors.append({"Key": key, "Code": exc.code, "Message": exc.message})
            continue
        deleted.append({"Key": key})
    return {"Deleted": [] if request.get("Quiet") else deleted, "Errors": errors}


OPERATIONS: dict[str, Handler] = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "CopyObject": copy_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
}
