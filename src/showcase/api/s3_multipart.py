"""S3 multipart uploads: create, upload a part (or copy one), list parts and uploads, complete, abort.

An upload's parts live outside the store, under ``<home>/api/multipart/<upload id>/``, so a half-done upload is
never an object. CompleteMultipartUpload joins the listed parts into the object through the store's atomic
writer; the parts directory goes once the object is in place.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from showcase.api.errors import ApiError
from showcase.api.s3_common import byte_range, etag, modified, object_file, object_uri
from showcase.api.s3_objects import body_of, copy_source, receive_into
from showcase.api.state import Call, Handler, State
from showcase.clock import timestamp
from showcase.files import write_json_atomically

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _uploads(state: State) -> Path:
    return state.root / "multipart"


def _upload_dir(state: State, params: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The upload's directory and record; NoSuchUpload for an id that is not one (or not for this key)."""
    upload_id = params["UploadId"]
    directory = _uploads(state) / upload_id
    record_file = directory / "upload.json"
    if not _UPLOAD_ID.match(upload_id) or not record_file.is_file():
        raise _no_such_upload(upload_id)
    record = json.loads(record_file.read_text(encoding="utf-8"))
    if (record["Bucket"], record["Key"]) != (params["Bucket"], params["Key"]):
        raise _no_such_upload(upload_id)
    return directory, record


def _no_such_upload(upload_id: str) -> ApiError:
    return ApiError(
        "NoSuchUpload",
        f"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted "
        f"or completed: {upload_id}",
        404,
    )


def _part_number(params: dict[str, Any]) -> int:
    number = params["PartNumber"]
    if not 1 <= number <= MAX_PART_NUMBER:
        raise ApiError("InvalidArgument", f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive")
    return int(number)


def create_multipart_upload(call: Call) -> dict[str, Any]:
    params = call.params
    object_uri(call.state, params["Bucket"], params["Key"])
    upload_id = secrets.token_hex(16)
    directory = _uploads(call.state) / upload_id
    directory.mkdir(parents=True)
    record = {"Bucket": params["Bucket"], "Key": params["Key"], "Initiated": timestamp()}
    write_json_atomically(directory / "upload.json", record)
    return {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": upload_id}


async def upload_part(call: Call) -> dict[str, Any]:
    params = call.params
    directory, _ = _upload_dir(call.state, params)
    number = _part_number(params)
    stream, params = body_of(call)
    echoed = await receive_into(_part_writer(directory / f"part-{number:05d}"), stream, params)
    return {"ETag": etag((directory / f"part-{number:05d}").stat()), **echoed}


@contextmanager
def _part_writer(part: Path) -> Iterator[BinaryIO]:
    """A part's file, renamed into place once written whole (a retried part replaces it at once)."""
    temp = part.with_name(f"{part.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temp.open("wb") as out:
            yield out
        os.replace(temp, part)
    finally:
        temp.unlink(missing_ok=True)


def upload_part_copy(call: Call) -> dict[str, Any]:
    params = call.params
    directory, _ = _upload_dir(call.state, params)
    number = _part_number(params)
    bucket, key = copy_source(params["CopySource"])
    source, stat = object_file(call.state, bucket, key)
    span = byte_range(params.get("CopySourceRange"), stat.st_size) or (0, stat.st_size)
    part = directory / f"part-{number:05d}"
    with source.open("rb") as src, _part_writer(part) as out:
        src.seek(span[0])
        _copy_bytes(src, out, span[1])
    stat = part.stat()
    return {"CopyPartResult": {"ETag": etag(stat), "LastModified": modified(stat)}}


def _copy_bytes(src: Any, out: Any, length: int) -> None:
    left = length
    while left > 0:
        chunk = src.read(min(1024 * 1024, left))
        if not chunk:
            break
        out.write(chunk)
        left -= len(chunk)


def list_parts(call: Call) -> dict[str, Any]:
    params = call.params
    directory, _ = _upload_dir(call.state, params)
    parts: list[dict[str, Any]] = []
    for path in sorted(directory.glob("part-?????")):
        stat = path.stat()
        parts.append(
            {"PartNumber": int(path.name[5:]), "LastModified": modified(stat), "ETag": etag(stat), "Size": stat.st_size}
        )
    marker = params.get("PartNumberMarker") or 0
    limit = min(params.get("MaxParts") or 1000, 1000)
    after = [part for part in parts if part["PartNumber"] > int(marker)]
    result = {
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "UploadId": params["UploadId"],
        "Parts": after[:limit],
        "MaxParts": limit,
        "IsTruncated": len(after) > limit,
        "StorageClass": "STANDARD",
        "Initiator": {"ID": "showcase-local"},
        "Owner": {"ID": "showcase-local"},
    }
    if len(after) > limit:
        result["NextPartNumberMarker"] = after[limit - 1]["PartNumber"]
    return result


def list_multipart_uploads(call: Call) -> dict[str, Any]:
    bucket = call.params["Bucket"]
    prefix = call.params.get("Prefix") or ""
    uploads = []
    for record_file in sorted(_uploads(call.state).glob("*/upload.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if record["Bucket"] == bucket and record["Key"].startswith(prefix):
            initiated = datetime.fromisoformat(record["Initiated"])
            uploads.append({"Key": record["Key"], "UploadId": record_file.parent.name, "Initiated": initiated})
    uploads.sort(key=lambda upload: (upload["Key"], upload["Initiated"]))
    return {"Bucket": bucket, "Uploads": uploads, "IsTruncated": False, "MaxUploads": 1000, "Prefix": prefix}


def complete_multipart_upload(call: Call) -> dict[str, Any]:
    params = call.params
    directory, _ = _upload_dir(call.state, params)
    listed = (params.get("MultipartUpload") or {}).get("Parts") or []
    if not listed:
        raise ApiError("MalformedXML", "CompleteMultipartUpload lists no parts")
    files = _checked_parts(directory, listed)
    uri = object_uri(call.state, params["Bucket"], params["Key"])
    with call.state.store.writer(uri) as out:
        for path in files:
            with path.open("rb") as part:
                shutil.copyfileobj(part, out, 1024 * 1024)
    shutil.rmtree(directory, ignore_errors=True)
    stat = call.state.store.path_of(uri).stat()
    return {
        "Location": f"/{params['Bucket']}/{params['Key']}",
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "ETag": etag(stat),
    }


def _checked_parts(directory: Path, listed: list[dict[str, Any]]) -> list[Path]:
    """The listed parts' files, in order; S3's InvalidPartOrder, InvalidPart and EntityTooSmall otherwise."""
    numbers = [int(part.get("PartNumber", 0)) for part in listed]
    if numbers != sorted(set(numbers)):
        raise ApiError(
            "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number."
        )
    files = []
    for index, part in enumerate(listed):
        path = directory / f"part-{numbers[index]:05d}"
        if not path.is_file() or part.get("ETag", "").strip('"') != etag(path.stat()).strip('"'):
            raise ApiError(
                "InvalidPart",
                f"One or more of the specified parts could not be found (part {numbers[index]}): the part may not "
                "have been uploaded, or the specified entity tag may not match the part's entity tag.",
            )
        if index < len(listed) - 1 and path.stat().st_size < MIN_PART_BYTES:
            raise ApiError(
                "EntityTooSmall",
                f"Your proposed upload is smaller than the minimum allowed size (part {numbers[index]})",
            )
        files.append(path)
    return files


def abort_multipart_upload(call: Call) -> dict[str, Any]:
    directory, _ = _upload_dir(call.state, call.params)
    shutil.rmtree(directory, ignore_errors=True)
    return {}


OPERATIONS: dict[str, Handler] = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
}
