"""aws-chunked request bodies: the framing an AWS SDK puts a PutObject or UploadPart body in when it signs the body
chunk by chunk or sends its checksum after it (a trailer). The AWS SDK for C++ does so over http too: pyarrow's
S3 filesystem, which pandas' ``to_parquet("s3://...")`` and ``read_parquet`` use, is built on it.

Each chunk is ``<hex size>[;chunk-signature=<signature>]\\r\\n<bytes>\\r\\n``; the chunk of size 0 ends the data and
is followed by the trailer lines (``x-amz-checksum-crc32:<base64>``, ``x-amz-trailer-signature:<signature>``) and
an empty line. The request says so with ``x-amz-content-sha256: STREAMING-...`` or ``Content-Encoding:
aws-chunked``, gives the data's length in ``x-amz-decoded-content-length`` and names its trailing checksum in
``x-amz-trailer``. Chunk signatures are not checked (the API checks no signature); a trailing checksum is, as one
sent in a header is (``s3_objects.Digests``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from werkzeug.datastructures import Headers

from showcase.api.errors import ApiError
from showcase.api.state import BodyStream

_LINE_LIMIT = 4096
"""The longest chunk header or trailer line taken (a signed chunk header is about 90 bytes)."""
TRAILING_CHECKSUMS = {
    "x-amz-checksum-crc32": "ChecksumCRC32",
    "x-amz-checksum-crc32c": "ChecksumCRC32C",
    "x-amz-checksum-crc64nvme": "ChecksumCRC64NVME",
    "x-amz-checksum-sha1": "ChecksumSHA1",
    "x-amz-checksum-sha256": "ChecksumSHA256",
}
"""A trailer's checksum header, and the request parameter a checksum sent as a header is."""
PENDING = "(in the trailer)"
"""The announced trailing checksum's value until the trailer arrives."""


def is_aws_chunked(headers: Headers) -> bool:
    sha = headers.get("x-amz-content-sha256", "")
    return sha.startswith("STREAMING-") or "aws-chunked" in headers.get("Content-Encoding", "")


def malformed(what: str) -> ApiError:
    return ApiError("InvalidRequest", f"The aws-chunked request body is not well-formed: {what}")


class AwsChunked:
    """The data of an aws-chunked body, chunk by chunk as it streams in; ``checksums()`` once it has ended."""

    def __init__(self, stream: BodyStream, headers: Headers) -> None:
        self._source = stream
        self._buffer = bytearray()
        self._trailers: dict[str, str] = {}
        self._data = self._decode()
        announced = headers.get("x-amz-trailer", "").strip().lower()
        self.announced = TRAILING_CHECKSUMS.get(announced)
        declared = headers.get("x-amz-decoded-content-length", "")
        self.declared = int(declared) if declared.isdigit() else None

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The request's parameters as its handler reads them: the data's length (not the framed body's), and the
        announced trailing checksum as one still to come."""
        out = {**params, "ContentLength": self.declared}
        if self.announced is not None:
            out[self.announced] = PENDING
        return out

    def checksums(self) -> dict[str, str]:
        """The trailing checksum, by parameter name; MalformedTrailerError when one was announced and none came."""
        trailers = self._trailers.items()
        found = {TRAILING_CHECKSUMS[name]: value for name, value in trailers if name in TRAILING_CHECKSUMS}
        if self.announced is not None and self.announced not in found:
            raise ApiError(
                "MalformedTrailerError",
                "The request contained trailing data that was not well-formed or did not conform to our published "
                f"schema: no {self.announced} trailer",
            )
        return found

    def __aiter__(self) -> AwsChunked:
        return self

    async def __anext__(self) -> bytes:
        return await anext(self._data)

    async def _more(self) -> bool:
        try:
            self._buffer.extend(await anext(self._source))
        except StopAsyncIteration:
            return False
        return True

    async def _line(self) -> bytes | None:
        """The next CRLF-ended line; None where the body ends without one (a last trailer line may lack it)."""
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _LINE_LIMIT:
                raise malformed(f"a chunk header or trailer line longer than {_LINE_LIMIT} bytes")
            if not await self._more():
                line = bytes(self._buffer)
                self._buffer.clear()
                return line or None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def _decode(self) -> AsyncIterator[bytes]:
        while True:
            header = await self._line()
            if header is None:
                raise ApiError("IncompleteBody", "The aws-chunked request body ended before its last chunk")
            try:
                size = int(header.split(b";", 1)[0], 16)
            except ValueError:
                raise malformed(f"chunk header {header[:40]!r} does not start with a hexadecimal size") from None
            if size == 0:
                break
            while size > 0:
                if not self._buffer and not await self._more():
                    raise ApiError("IncompleteBody", "The aws-chunked request body ended inside a chunk")
                piece = bytes(self._buffer[:size])
                del self._buffer[: len(piece)]
                size -= len(piece)
                yield piece
            while len(self._buffer) < 2:
                if not await self._more():
                    raise ApiError("IncompleteBody", "The aws-chunked request body ended inside a chunk")
            if self._buffer[:2] != b"\r\n":
                raise malformed("a chunk's data is longer than its header says")
            del self._buffer[:2]
        while line := await self._line():
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise malformed(f"trailer line {line[:40]!r} is not name:value")
            self._trailers[name.strip().lower()] = value.strip()
