"""aws-chunked request bodies (SigV4 streaming): the framing the AWS SDK for C++ (pyarrow's S3 filesystem, which
pandas' parquet reader and writer use) sends PutObject and UploadPart bodies in, over http too. The data is what
is stored; a trailing checksum is checked as one sent in a header is; a body that breaks the framing writes nothing.
"""

from __future__ import annotations

import base64
import http.client
import os
import zlib
from typing import Any

import pyarrow.fs as pafs
import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import CREDENTIALS, REGION, Api

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST/20261207/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
)


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def framed(pieces: list[bytes], trailer: dict[str, str] | None = None, *, signed: bool = False) -> bytes:
    """``pieces`` in aws-chunked framing: with chunk signatures (``signed``) or without, then the trailer."""
    extension = ";chunk-signature=" + "a" * 64 if signed else ""
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(piece), extension.encode(), piece) for piece in pieces)
    body += b"0%s\r\n" % extension.encode()
    body += b"".join(f"{name}:{value}\r\n".encode() for name, value in (trailer or {}).items())
    return body + b"\r\n"


def put(api: Api, key: str, body: bytes, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    connection.request(
        "PUT", f"/chunked-bucket/{key}", body=body,
        headers={"Host": f"127.0.0.1:{api.port}", "Authorization": AUTHORIZATION, "x-amz-date": "20261207T000000Z",
                 "Content-Encoding": "aws-chunked", **headers},
    )  # fmt: skip
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


@pytest.fixture(scope="module")
def s3(api: Api) -> Any:
    client = api.client("s3")
    client.create_bucket(Bucket="chunked-bucket")
    return client


def missing(s3: Any, key: str) -> bool:
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="chunked-bucket", Key=key)
    return caught.value.response["Error"]["Code"] == "404"


def test_an_unsigned_body_with_a_trailing_crc32_is_stored_as_its_data(api: Api, s3: Any) -> None:
    pieces = [os.urandom(65536), os.urandom(70000), b"end"]
    data = b"".join(pieces)
    status, headers, _ = put(
        api, "unsigned", framed(pieces, {"x-amz-checksum-crc32": crc32(data)}),
        **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32",
           "x-amz-decoded-content-length": str(len(data))},
    )  # fmt: skip
    assert status == 200 and headers["x-amz-checksum-crc32"] == crc32(data)
    assert s3.get_object(Bucket="chunked-bucket", Key="unsigned")["Body"].read() == data


def test_a_signed_body_is_stored_as_its_data(api: Api, s3: Any) -> None:
    """Chunk signatures are read past, not checked (the API checks no signature); Content-Length is the framed
    body's, x-amz-decoded-content-length the data's."""
    pieces = [b"x" * 8192, b"y" * 100]
    status, _, _ = put(
        api, "signed", framed(pieces, signed=True),
        **{"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "8292"},
    )  # fmt: skip
    assert status == 200
    assert s3.get_object(Bucket="chunked-bucket", Key="signed")["Body"].read() == b"".join(pieces)


def test_a_trailing_checksum_that_does_not_match_writes_nothing(api: Api, s3: Any) -> None:
    status, _, body = put(
        api, "bad-crc", framed([b"abc"], {"x-amz-checksum-crc32": crc32(b"abd")}),
        **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32",
           "x-amz-decoded-content-length": "3"},
    )  # fmt: skip
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body
    assert b"x-amz-checksum-crc32" in body
    assert missing(s3, "bad-crc")


def test_an_announced_trailer_that_never_comes_writes_nothing(api: Api, s3: Any) -> None:
    status, _, body = put(
        api, "no-trailer", framed([b"abc"]),
        **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32",
           "x-amz-decoded-content-length": "3"},
    )  # fmt: skip
    assert status == 400 and b"<Code>MalformedTrailerError</Code>" in body
    assert missing(s3, "no-trailer")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"10\r\nshort\r\n0\r\n\r\n", b"IncompleteBody"),  # 16 bytes announced, the body ends first
        (b"zz\r\nabc\r\n0\r\n\r\n", b"InvalidRequest"),  # no hexadecimal size
        (b"2\r\nabc\r\n0\r\n\r\n", b"InvalidRequest"),  # more data than the chunk header says
        (b"3\r\nabc\r\n0\r\n\r\n", b"IncompleteBody"),  # the decoded length says 5
    ],
)
def test_a_body_that_breaks_the_framing_writes_nothing(api: Api, s3: Any, body: bytes, code: bytes) -> None:
    status, _, answer = put(
        api, "broken", body,
        **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD", "x-amz-decoded-content-length": "5"},
    )  # fmt: skip
    assert status == 400 and b"<Code>" + code + b"</Code>" in answer, answer
    assert missing(s3, "broken")


def test_pyarrows_s3_filesystem_writes_in_parts_and_reads_back(api: Api, s3: Any) -> None:
    """The AWS SDK for C++ under pyarrow uploads every file as a multipart upload of aws-chunked parts with a
    trailing CRC64NVME (not checked here: the standard library has no CRC64NVME)."""
    filesystem = pafs.S3FileSystem(
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region=REGION, scheme="http", endpoint_override=f"127.0.0.1:{api.port}",
    )  # fmt: skip
    data = os.urandom(12 * 1024 * 1024)  # more than pyarrow's 10 MiB part
    with filesystem.open_output_stream("chunked-bucket/arrow/data.bin") as out:
        out.write(data)
    assert s3.get_object(Bucket="chunked-bucket", Key="arrow/data.bin")["Body"].read() == data
    with filesystem.open_input_file("chunked-bucket/arrow/data.bin") as handle:
        assert handle.read() == data
