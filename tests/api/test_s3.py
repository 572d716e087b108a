"""S3 through boto3 against the real API: buckets, objects, ranges, listings, multipart, and the store beneath."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase.store import ObjectStore
from tests.api.conftest import Api


def code_of(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture()
def s3(api: Api) -> Any:
    return api.client("s3")


def test_buckets_are_created_found_listed_and_deleted_once_empty(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="lifecycle-bucket")
    assert s3.head_bucket(Bucket="lifecycle-bucket")["BucketRegion"] == "us-east-1"
    assert s3.get_bucket_location(Bucket="lifecycle-bucket")["LocationConstraint"] is None
    names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert "lifecycle-bucket" in names
    assert all(bucket["CreationDate"] is not None for bucket in s3.list_buckets()["Buckets"])
    s3.put_object(Bucket="lifecycle-bucket", Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="lifecycle-bucket")
    assert code_of(caught) == "BucketNotEmpty"
    s3.delete_object(Bucket="lifecycle-bucket", Key="k")
    s3.delete_bucket(Bucket="lifecycle-bucket")
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="lifecycle-bucket")
    assert code_of(caught) == "404"  # bodiless, as the SDK's default-bucket check expects
    assert caught.value.response["Error"]["Message"] == "Not Found"


def test_an_object_put_through_the_api_is_the_store_s_object_and_back(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="shared-bucket")
    body = os.urandom(3000) + "é ünïcode".encode()
    s3.put_object(Bucket="shared-bucket", Key="dir/a file+name.bin", Body=body)
    store = ObjectStore(api.home / "store")
    assert store.get_bytes("s3://shared-bucket/dir/a file+name.bin") == body
    store.put_bytes("s3://shared-bucket/from-store/x.csv", b"1,2,3\n")
    got = s3.get_object(Bucket="shared-bucket", Key="from-store/x.csv")
    assert got["Body"].read() == b"1,2,3\n"
    assert got["ContentLength"] == 6
    head = s3.head_object(Bucket="shared-bucket", Key="from-store/x.csv")
    assert head["ETag"] == got["ETag"] and head["LastModified"] == got["LastModified"]
    s3.delete_object(Bucket="shared-bucket", Key="dir/a file+name.bin")
    assert not store.exists("s3://shared-bucket/dir/a file+name.bin")
    assert not (api.home / "store" / "shared-bucket" / "dir").exists()  # so "dir" may become an object again
    s3.put_object(Bucket="shared-bucket", Key="dir", Body=b"now a key")


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-0", slice(0, 1), "bytes 0-0/100"),
        ("bytes=10-19", slice(10, 20), "bytes 10-19/100"),
        ("bytes=90-", slice(90, 100), "bytes 90-99/100"),
        ("bytes=-7", slice(93, 100), "bytes 93-99/100"),
        ("bytes=95-500", slice(95, 100), "bytes 95-99/100"),
    ],
)
def test_ranged_gets(api: Api, s3: Any, header: str, expected: slice, content_range: str) -> None:
    body = bytes(range(100))
    s3.create_bucket(Bucket="range-bucket")
    s3.put_object(Bucket="range-bucket", Key="r", Body=body)
    got = s3.get_object(Bucket="range-bucket", Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == content_range
    assert got["Body"].read() == body[expected]


def test_an_unsatisfiable_range_is_invalid_range(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="range-bucket")
    s3.put_object(Bucket="range-bucket", Key="small", Body=b"abc")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="range-bucket", Key="small", Range="bytes=3-9")
    assert code_of(caught) == "InvalidRange"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_listings_v1_and_v2_with_prefix_delimiter_and_pages(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="list-bucket")
    keys = ["a/1", "a/2", "a/b/3", "b", "c/4 five", "c/6+7", "d", "e/8"]
    for key in keys:
        s3.put_object(Bucket="list-bucket", Key=key, Body=key.encode())
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="list-bucket", PaginationConfig={"PageSize": 3})
    listed = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert listed == sorted(keys)
    v1 = s3.get_paginator("list_objects").paginate(Bucket="list-bucket", PaginationConfig={"PageSize": 2})
    assert [item["Key"] for page in v1 for item in page.get("Contents", [])] == sorted(keys)
    rolled = s3.list_objects_v2(Bucket="list-bucket", Delimiter="/")
    assert [item["Key"] for item in rolled["Contents"]] == ["b", "d"]
    assert [item["Prefix"] for item in rolled["CommonPrefixes"]] == ["a/", "c/", "e/"]
    assert rolled["KeyCount"] == 5
    under_a = s3.list_objects_v2(Bucket="list-bucket", Prefix="a/", Delimiter="/")
    assert [item["Key"] for item in under_a["Contents"]] == ["a/1", "a/2"]
    assert [item["Prefix"] for item in under_a["CommonPrefixes"]] == ["a/b/"]
    paged = s3.get_paginator("list_objects_v2").paginate(
        Bucket="list-bucket", Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    entries = [
        item.get("Key") or item.get("Prefix")
        for page in paged
        for item in page.get("Contents", []) + page.get("CommonPrefixes", [])
    ]
    assert entries == ["a/", "b", "c/", "d", "e/"]
    after = s3.list_objects_v2(Bucket="list-bucket", StartAfter="c/4 five")
    assert [item["Key"] for item in after["Contents"]] == ["c/6+7", "d", "e/8"]
    encoded = s3.list_objects(Bucket="list-bucket", Prefix="c/", EncodingType="url")  # asked for: not decoded
    assert [item["Key"] for item in encoded["Contents"]] == ["c/4%20five", "c/6%2B7"]
    assert encoded["EncodingType"] == "url"
    assert s3.list_objects_v2(Bucket="list-bucket", Prefix="zzz").get("Contents") is None


def test_multipart_upload_over_8_mib_and_its_parts(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="multipart-bucket")
    body = os.urandom(19 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(body), "multipart-bucket", "big/object.bin")  # 8 MiB parts, in parallel
    assert ObjectStore(api.home / "store").get_bytes("s3://multipart-bucket/big/object.bin") == body
    out = io.BytesIO()
    s3.download_fileobj("multipart-bucket", "big/object.bin", out)  # ranged GETs, in parallel
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(body).digest()
    assert not list((api.home / "api" / "multipart").iterdir())  # the parts went once the object was in place


def test_an_aborted_upload_leaves_no_object(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="multipart-bucket")
    upload = s3.create_multipart_upload(Bucket="multipart-bucket", Key="aborted")["UploadId"]
    s3.upload_part(Bucket="multipart-bucket", Key="aborted", UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    parts = s3.list_parts(Bucket="multipart-bucket", Key="aborted", UploadId=upload)["Parts"]
    assert [(part["PartNumber"], part["Size"]) for part in parts] == [(1, 1024)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="multipart-bucket")["Uploads"]] == [upload]
    s3.abort_multipart_upload(Bucket="multipart-bucket", Key="aborted", UploadId=upload)
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket="multipart-bucket", Key="aborted", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]},
        )  # fmt: skip
    assert code_of(caught) == "NoSuchUpload"
    assert not ObjectStore(api.home / "store").exists("s3://multipart-bucket/aborted")


def test_completing_with_a_part_that_was_not_uploaded_is_invalid_part(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="multipart-bucket")
    upload = s3.create_multipart_upload(Bucket="multipart-bucket", Key="wrong")["UploadId"]
    etag = s3.upload_part(Bucket="multipart-bucket", Key="wrong", UploadId=upload, PartNumber=1, Body=b"y")["ETag"]
    for parts, code in (
        ([{"PartNumber": 1, "ETag": '"0000"'}], "InvalidPart"),
        ([{"PartNumber": 2, "ETag": etag}], "InvalidPart"),
        ([{"PartNumber": 1, "ETag": etag}, {"PartNumber": 1, "ETag": etag}], "InvalidPartOrder"),
    ):
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket="multipart-bucket", Key="wrong", UploadId=upload, MultipartUpload={"Parts": parts}
            )
        assert code_of(caught) == code
    assert not ObjectStore(api.home / "store").exists("s3://multipart-bucket/wrong")


def test_a_body_that_does_not_match_its_checksum_writes_nothing(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="digest-bucket")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other", usedforsecurity=False).digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="digest-bucket", Key="k", Body=b"payload", ContentMD5=wrong_md5)
    assert code_of(caught) == "BadDigest"
    wrong_crc = base64.b64encode(b"\x00\x00\x00\x01").decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="digest-bucket", Key="k", Body=b"payload", ChecksumCRC32=wrong_crc)
    assert code_of(caught) == "InvalidRequest"
    assert not ObjectStore(api.home / "store").exists("s3://digest-bucket/k")
    assert not [p for p in (api.home / "store" / "digest-bucket").rglob("*") if p.is_file()]  # no temporary left


def test_copy_and_delete_many(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="copy-bucket")
    s3.put_object(Bucket="copy-bucket", Key="src/one", Body=b"1")
    s3.copy_object(Bucket="copy-bucket", Key="dst/one", CopySource={"Bucket": "copy-bucket", "Key": "src/one"})
    assert s3.get_object(Bucket="copy-bucket", Key="dst/one")["Body"].read() == b"1"
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket="copy-bucket", Key="src/one", CopySource="copy-bucket/src/one")
    assert code_of(caught) == "InvalidRequest"
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket="copy-bucket", Key="x", CopySource="copy-bucket/missing")
    assert code_of(caught) == "NoSuchKey"
    deleted = s3.delete_objects(
        Bucket="copy-bucket", Delete={"Objects": [{"Key": "src/one"}, {"Key": "dst/one"}, {"Key": "never"}]}
    )
    assert sorted(item["Key"] for item in deleted["Deleted"]) == ["dst/one", "never", "src/one"]
    assert s3.list_objects_v2(Bucket="copy-bucket")["KeyCount"] == 0


def test_what_is_not_there(api: Api, s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
    assert code_of(caught) == "NoSuchBucket"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.create_bucket(Bucket="empty-bucket")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="empty-bucket", Key="missing/key")
    assert code_of(caught) == "NoSuchKey"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="empty-bucket", Key="missing/key")
    assert code_of(caught) == "404"


def test_a_key_the_store_cannot_hold_is_refused_in_one_line(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="odd-bucket")
    s3.put_object(Bucket="odd-bucket", Key="file", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="odd-bucket", Key="file/child", Body=b"y")
    assert code_of(caught) == "InvalidArgument"
    assert "'a' and 'a/b'" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="odd-bucket", Key="../escape", Body=b"y")
    assert code_of(caught) == "InvalidArgument"
    assert not (api.home / "store" / "escape").exists()


def test_conditional_gets(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="cond-bucket")
    etag = s3.put_object(Bucket="cond-bucket", Key="k", Body=b"v1")["ETag"]
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="cond-bucket", Key="k", IfNoneMatch=etag)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="cond-bucket", Key="k", IfMatch='"not-it"')
    assert code_of(caught) == "PreconditionFailed"
    assert s3.get_object(Bucket="cond-bucket", Key="k", IfMatch=etag)["Body"].read() == b"v1"


def test_a_presigned_url_and_a_virtual_hosted_request(api: Api, s3: Any) -> None:
    s3.create_bucket(Bucket="presign-bucket")
    s3.put_object(Bucket="presign-bucket", Key="p/q.txt", Body=b"signed")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign-bucket", "Key": "p/q.txt"})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"signed"
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    connection.request("GET", "/p/q.txt", headers={"Host": f"presign-bucket.localhost:{api.port}"})
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"signed")


def test_last_modified_is_never_before_the_object_was_written(api: Api, s3: Any) -> None:
    """S3 keeps whole seconds; rounding down would make a file written just before its upload look newer than
    the object, and ``aws s3 sync`` would upload it again and again."""
    s3.create_bucket(Bucket="time-bucket")
    s3.put_object(Bucket="time-bucket", Key="k", Body=b"x")
    written = 1_700_000_000.5
    os.utime(api.home / "store" / "time-bucket" / "k", (written, written))
    head = s3.head_object(Bucket="time-bucket", Key="k")["LastModified"].timestamp()
    listed = s3.list_objects_v2(Bucket="time-bucket")["Contents"][0]["LastModified"].timestamp()
    assert head == listed == 1_700_000_001
