"""S3 buckets over the object store: create, head, location, list, delete; ListObjects v1 and v2.

A bucket is a directory under the store's root. Listings follow S3's rules: keys in UTF-8 binary order,
``Prefix``, ``Delimiter`` (keys sharing the part up to the delimiter roll up into one ``CommonPrefixes``
entry, counted once towards ``MaxKeys``), ``Marker``/``StartAfter``/``ContinuationToken`` and
``EncodingType=url`` (what the AWS CLI asks for).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from showcase.api.errors import ApiError
from showcase.api.s3_common import bucket_dir, etag, modified
from showcase.api.state import Call, Handler, State
from showcase.settings import DEFAULT_REGION
from showcase.store import StoreError, join_uri, split_uri

MAX_KEYS = 1000
OWNER = {"DisplayName": "showcase-local", "ID": "0" * 64}


def create_bucket(call: Call) -> dict[str, Any]:
    bucket = call.params["Bucket"]
    path = bucket_dir(call.state, bucket, must_exist=False)
    if path.is_dir() and call.state.settings.region != DEFAULT_REGION:  # us-east-1 answers 200 to its owner
        raise ApiError("BucketAlreadyOwnedByYou", f"Your previous request to create {bucket} succeeded", 409)
    if path.exists() and not path.is_dir():
        raise ApiError("InvalidBucketName", f"{bucket} is a file in the local store's root, not a bucket")
    path.mkdir(parents=True, exist_ok=True)
    return {"Location": f"/{bucket}"}


def head_bucket(call: Call) -> dict[str, Any]:
    bucket_dir(call.state, call.params["Bucket"])
    return {"BucketRegion": call.state.settings.region}


def get_bucket_location(call: Call) -> dict[str, Any]:
    bucket_dir(call.state, call.params["Bucket"])
    region = call.state.settings.region
    return {"LocationConstraint": "" if region == DEFAULT_REGION else region}


def list_buckets(call: Call) -> dict[str, Any]:
    root = call.state.store.root
    buckets = []
    for entry in sorted(os.scandir(root), key=lambda item: item.name) if root.is_dir() else []:
        if entry.is_dir(follow_symlinks=False) and _is_bucket_name(entry.name):
            created = datetime.fromtimestamp(int(entry.stat().st_mtime), timezone.utc)
            buckets.append({"Name": entry.name, "CreationDate": created, "BucketRegion": call.state.settings.region})
    return {"Buckets": buckets, "Owner": OWNER}


def delete_bucket(call: Call) -> dict[str, Any]:
    bucket = call.params["Bucket"]
    path = bucket_dir(call.state, bucket)
    if call.state.store.list(join_uri(bucket, "")):
        raise ApiError("BucketNotEmpty", f"The bucket you tried to delete is not empty: {bucket}", 409)
    for current, _dirs, _files in os.walk(path, topdown=False):  # children before their parents
        try:
            os.rmdir(current)  # only the directories left empty (a store's temporary file keeps its one)
        except OSError:
            raise ApiError("BucketNotEmpty", f"The bucket is being written to: {bucket}", 409) from None
    return {}


def _is_bucket_name(name: str) -> bool:
    try:
        split_uri(f"s3://{name}/", prefix=True)
    except StoreError:
        return False
    return True


# -- listing ------------------------------------------------------------------------------------------------------


@dataclass
class Page:
    contents: list[dict[str, Any]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None
    """The last key or common prefix of the page: where the next page starts."""


def list_page(state: State, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int) -> Page:
    """One page of keys after ``after`` (exclusive); a common prefix given as ``after`` skips its keys."""
    page = Page()
    for key in _keys(state, bucket, prefix):
        if key <= after or (delimiter and after.endswith(delimiter) and key.startswith(after)):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key[: cut + len(delimiter)] if cut >= 0 else key
        if page.last is not None and entry == page.last:
            continue  # another key of the common prefix just added
        if len(page.contents) + len(page.prefixes) >= max_keys:
            page.truncated = True
            break
        if cut >= 0:
            page.prefixes.append(entry)
        else:
            page.contents.append(_content(state, bucket, key))
        page.last = entry
    return page


def _keys(state: State, bucket: str, prefix: str) -> Iterator[str]:
    bucket_dir(state, bucket)
    try:
        uris = state.store.list(join_uri(bucket, prefix))
    except StoreError:  # a prefix no key of the store can have (``//``, ``..``): nothing matches
        return iter(())
    skip = len(f"s3://{bucket}/")
    return iter(sorted((uri[skip:] for uri in uris), key=lambda key: key.encode("utf-8")))


def _content(state: State, bucket: str, key: str) -> dict[str, Any]:
    stat = state.store.path_of(join_uri(bucket, key)).stat()
    return {
        "Key": key,
        "LastModified": modified(stat),
        "ETag": etag(stat),
        "Size": stat.st_size,
        "StorageClass": "STANDARD",
    }


def _max_keys(params: dict[str, Any]) -> int:
    value = params.get("MaxKeys", MAX_KEYS)
    if value < 0:
        raise ApiError("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")
    return min(value, MAX_KEYS)


def _encoded(params: dict[str, Any]) -> bool:
    encoding = params.get("EncodingType")
    if encoding not in (None, "url"):
        raise ApiError("InvalidArgument", f"Invalid Encoding Method specified in Request: {encoding}")
    return encoding == "url"


def _encode(value: str, url: bool) -> str:
    return quote(value, safe="/~") if url else value


def _listing(params: dict[str, Any], page: Page, url: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "Name": params["Bucket"],
        "Prefix": _encode(params.get("Prefix") or "", url),
        "MaxKeys": _max_keys(params),
        "IsTruncated": page.truncated,
        "Contents": [{**item, "Key": _encode(item["Key"], url)} for item in page.contents],
        "CommonPrefixes": [{"Prefix": _encode(prefix, url)} for prefix in page.prefixes],
    }
    if params.get("Delimiter"):
        result["Delimiter"] = _encode(params["Delimiter"], url)
    if url:
        result["EncodingType"] = "url"
    return result


def list_objects(call: Call) -> dict[str, Any]:
    params, url = call.params, _encoded(call.params)
    marker = params.get("Marker") or ""
    page = list_page(
        call.state,
        params["Bucket"],
        params.get("Prefix") or "",
        params.get("Delimiter") or "",
        marker,
        _max_keys(params),
    )
    result = _listing(params, page, url)
    result["Marker"] = _encode(marker, url)
    if page.truncated and params.get("Delimiter") and page.last is not None:
        result["NextMarker"] = _encode(page.last, url)
    return result


def list_objects_v2(call: Call) -> dict[str, Any]:
    params, url = call.params, _encoded(call.params)
    token = params.get("ContinuationToken")
    after = _decode_token(token) if token else params.get("StartAfter") or ""
    page = list_page(
        call.state,
        params["Bucket"],
        params.get("Prefix") or "",
        params.get("Delimiter") or "",
        after,
        _max_keys(params),
    )
    result = _listing(params, page, url)
    result["KeyCount"] = len(page.contents) + len(page.prefixes)
    if token:
        result["ContinuationToken"] = token
    if params.get("StartAfter"):
        result["StartAfter"] = _encode(params["StartAfter"], url)
    if page.truncated and page.last is not None:
        result["NextContinuationToken"] = base64.urlsafe_b64encode(page.last.encode("utf-8")).decode()
    if not params.get("FetchOwner"):
        return result
    result["Contents"] = [{**item, "Owner": OWNER} for item in result["Contents"]]
    return result


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("InvalidArgument", "The continuation token provided is incorrect") from None


OPERATIONS: dict[str, Handler] = {
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "GetBucketLocation": get_bucket_location,
    "ListBuckets": list_buckets,
    "DeleteBucket": delete_bucket,
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
}
