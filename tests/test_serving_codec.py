"""The container's request and response formats, without a server."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase.serving import codec
from showcase.serving.capture import Sampler, capture_record
from showcase.serving.codec import RequestError

N = 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, codec.CSV),
        ("", codec.CSV),
        ("text/csv", codec.CSV),
        ("TEXT/CSV; charset=UTF-8", codec.CSV),
        ("text/csv; label_size=0", codec.CSV),
        ('text/csv; charset="utf-8"; label_size=0', codec.CSV),
        ("text/libsvm", codec.LIBSVM),
        ("text/x-libsvm", codec.X_LIBSVM),
    ],
)
def test_content_types(header: str | None, expected: str) -> None:
    assert codec.content_type_of(header) == expected


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("application/json", "Content-Type 'application/json' is not supported; use text/csv"),
        ("application/x-recordio-protobuf", "is not supported"),
        ("text/csv; charset=latin-1", "charset 'latin-1' is not supported; send UTF-8"),
        ("text/csv; label_size=1", "inference rows carry no label"),
    ],
)
def test_unsupported_content_types_are_415(header: str, match: str) -> None:
    with pytest.raises(RequestError, match=match) as caught:
        codec.content_type_of(header)
    assert caught.value.status == 415


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, codec.CSV),
        ("*/*", codec.CSV),
        ("text/csv", codec.CSV),
        ("application/json", codec.JSON),
        ("application/jsonlines", codec.JSONLINES),
        ("application/json; charset=utf-8", codec.JSON),
        ("image/png, application/jsonlines;q=0.5", codec.JSONLINES),
        ("text/*", codec.CSV),
    ],
)
def test_accepts(header: str | None, expected: str) -> None:
    assert codec.accept_of(header) == expected


def test_unsupported_accept_is_406() -> None:
    with pytest.raises(RequestError, match="Accept 'application/x-recordio-protobuf' is not supported") as caught:
        codec.accept_of("application/x-recordio-protobuf")
    assert caught.value.status == 406


def test_csv_rows_blank_lines_and_spaces() -> None:
    rows = codec.decode(b"1,2,3\r\n\n 4 , 5,6 \n", codec.CSV, N)
    assert rows.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_empty_field_and_nan_are_missing() -> None:
    rows = codec.decode(b"1,,nan", codec.CSV, N)
    assert rows[0, 0] == 1 and math.isnan(rows[0, 1]) and math.isnan(rows[0, 2])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"1,2", "row 1 has 2 values; the model takes 3 features"),
        (b"1,2,3\n1,2,3,4", "row 2 has 4 values; the model takes 3 features"),
        (b"1,abc,3", "row 1, column 2: 'abc' is not a number"),
        (b"1,2,inf", "row 1, column 3: inf is not a finite number"),
        (b"1,2,-Infinity", "row 1, column 3: -inf is not a finite number"),
        (b"1,2,\xff", "the body is not UTF-8 text: byte 0xff at offset 4 is invalid"),
        (b"\n\n", "the body holds no rows"),
        (b"1;2;3", "row 1 has 1 values"),
        (b'"1",2,3', "row 1, column 1: '\"1\"' is not a number"),
    ],
)
def test_bad_csv_is_400_naming_the_problem(body: bytes, match: str) -> None:
    with pytest.raises(RequestError, match=match) as caught:
        codec.decode(body, codec.CSV, N)
    assert caught.value.status == 400


def test_large_csv_uses_the_fast_parser_with_the_same_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3000, N))
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in values).encode()
    assert len(body) > 16 * 1024
    assert np.array_equal(codec.decode(body, codec.CSV, N), values)


def test_large_csv_errors_name_the_row() -> None:
    body = ("1,2,3\n" * 5000 + "1,2\n").encode()
    with pytest.raises(RequestError, match="row 5001 has 2 values"):
        codec.decode(body, codec.CSV, N)
    body = ("1,2,3\n" * 5000 + "1,,3\n").encode()
    assert math.isnan(codec.decode(body, codec.CSV, N)[5000, 1])


def test_libsvm() -> None:
    rows = codec.decode(b"0 0:1.5 2:3\n1:2", codec.LIBSVM, N)
    assert rows[0, 0] == 1.5 and math.isnan(rows[0, 1]) and rows[0, 2] == 3
    assert math.isnan(rows[1, 0]) and rows[1, 1] == 2


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"0 3:1", "feature index 3 is out of range; the model has 3"),
        (b"0 x:1", "'x:1' has no 0-based feature index"),
        (b"0 1:abc", "row 1, column 2: 'abc' is not a number"),
        (b"0 1:1 junk", "'junk' is not an index:value pair"),
    ],
)
def test_bad_libsvm_is_400(body: bytes, match: str) -> None:
    with pytest.raises(RequestError, match=match):
        codec.decode(body, codec.LIBSVM, N)


def test_encoders() -> None:
    predictions = np.array([1.5, 2.25], dtype=np.float32)
    assert codec.encode(predictions, codec.CSV) == b"1.5\n2.25\n"
    assert json.loads(codec.encode(predictions, codec.JSON)) == {"predictions": [{"score": 1.5}, {"score": 2.25}]}
    lines = codec.encode(predictions, codec.JSONLINES).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"score": 1.5}, {"score": 2.25}]
    multi = np.array([[0.25, 0.75]], dtype=np.float32)
    assert codec.encode(multi, codec.CSV) == b"0.25,0.75\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(codec.CONTENT_TYPES))
def test_any_body_decodes_or_is_refused_with_400(body: bytes, content_type: str) -> None:
    try:
        rows = codec.decode(body, content_type, N)
    except RequestError as exc:
        assert exc.status == 400 and exc.message
    else:
        assert rows.shape[1] == N and not np.isinf(rows).any()


@pytest.mark.parametrize(("percentage", "expected"), [(0, 0), (100, 40), (50, 20), (25, 10), (33, 13)])
def test_sampling_is_counter_based(percentage: int, expected: int) -> None:
    sample = Sampler(percentage)
    assert sum(sample() for _ in range(40)) == expected


def test_capture_record_shape() -> None:
    from datetime import datetime, timezone

    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    record = capture_record("text/csv", b"1,2,3", "application/octet-stream", b"\x00\x01", when)
    assert record["captureData"] == {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3", "encoding": "CSV"},
        "endpointOutput": {
            "observedContentType": "application/octet-stream",
            "mode": "OUTPUT",
            "data": "AAE=",
            "encoding": "BASE64",
        },
    }
    assert record["eventMetadata"]["inferenceTime"] == "2026-01-02T03:04:05.678Z"  # type: ignore[index]
    assert record["eventVersion"] == "0"


def test_values_beyond_float32_are_refused_not_silently_infinite() -> None:
    from showcase.serving.codec import CSV, RequestError, decode

    row = ",".join(["1"] * 9 + ["1e39"])
    with pytest.raises(RequestError, match=r"row 1, column 10: 1e\+39 is beyond the largest value"):
        decode(row.encode(), CSV, 10)
    assert decode(",".join(["1"] * 9 + ["3e38"]).encode(), CSV, 10).shape == (1, 10)
