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
    parsed = codec.parse(body, codec.CSV, N)
    assert parsed.parser == codec.ARROW
    assert np.array_equal(parsed.rows, values) and np.array_equal(parsed.rows, codec._decode_csv(body.decode(), N))
    assert np.array_equal(codec.decode(body, codec.CSV, N), values)


LARGE = "\n".join(["0.125,2,-3e-05"] * 2000)


@pytest.mark.parametrize(
    ("body", "content_type", "parser"),
    [
        (LARGE, codec.CSV, codec.ARROW),
        (LARGE + "\r\n" + LARGE + "\n\n", codec.CSV, codec.ARROW),  # CRLF, blank lines
        ("0.125,2,-3e-05", codec.CSV, codec.PYTHON),  # small: a Python parse is quicker
        (LARGE + "\n1,,3", codec.CSV, codec.PYTHON),  # an empty field: a missing value Arrow does not read
        (LARGE + "\n\uff11,2,3", codec.CSV, codec.PYTHON),  # not ASCII
        ("0 0:1 1:2 2:3\n" * 2000, codec.LIBSVM, codec.PYTHON),
    ],
)
def test_which_parser_reads_a_body(body: str, content_type: str, parser: str) -> None:
    assert codec.parse(body.encode(), content_type, N).parser == parser


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


def python_answer(predictions: np.ndarray, accept: str) -> bytes:
    """Each answer as Python's own float formatting writes it: what the container sends."""
    scores = predictions.tolist()
    if accept == codec.CSV:
        return "".join(f"{score}\n" for score in scores).encode()
    if accept == codec.JSON:
        return json.dumps({"predictions": [{"score": score} for score in scores]}).encode()
    return "".join(json.dumps({"score": score}) + "\n" for score in scores).encode()


FLOAT32S = st.floats(width=32, allow_nan=True, allow_infinity=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(FLOAT32S, st.integers(-40, 40).map(float), st.floats(1e-6, 1e-3).map(lambda v: float(np.float32(v)))),
        min_size=50,
        max_size=300,
    ),
    st.sampled_from(codec.ACCEPTS),
)
def test_large_answers_are_byte_for_byte_what_python_writes(values: list[float], accept: str) -> None:
    predictions = np.array(values, dtype=np.float32)
    assert codec.encode(predictions, accept) == python_answer(predictions, accept)


def test_a_10000_row_answer_is_what_python_writes() -> None:
    predictions = (np.random.default_rng(0).normal(size=10_000) * 3 + 10).astype(np.float32)
    predictions[::97] = np.round(predictions[::97])  # whole numbers, written "10.0" by Python
    predictions[::101] *= 1e-5  # tiny ones, written "1.2e-05" by Python
    for accept in codec.ACCEPTS:
        assert codec.encode(predictions, accept) == python_answer(predictions, accept)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(1e-3, 1e5), st.booleans())
        .map(lambda pair: float(np.float32(pair[0] if pair[1] else -pair[0])))
        .filter(lambda value: value != int(value)),
        min_size=64,
        max_size=400,
    )
)
def test_answers_without_whole_or_tiny_values_are_what_python_writes(values: list[float]) -> None:
    """The answers Arrow's CSV writer formats on its own (no value Python writes in another notation)."""
    predictions = np.array(values, dtype=np.float32)
    for accept in codec.ACCEPTS:
        assert codec.encode(predictions, accept) == python_answer(predictions, accept)


def test_large_ascii_and_utf8_bodies_decode_alike() -> None:
    rows = np.random.default_rng(1).normal(size=(3000, N))
    body = "\n".join(",".join(f"{v:.6f}" for v in row) for row in rows)
    ascii_rows = codec.decode(body.encode(), codec.CSV, N)
    # A non-ASCII (fullwidth) digit takes the precise parser, which reads it as Python's float() does.
    unicode_rows = codec.decode((body + "\n\uff11,2,3").encode(), codec.CSV, N)
    assert np.array_equal(unicode_rows[:-1], ascii_rows) and unicode_rows[-1].tolist() == [1.0, 2.0, 3.0]


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


FIELDS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", " 1.5", "1.5 ", "nan", "NaN", "inf", "-inf", "Infinity", "+.5", "-.5", "5.", "1e5", "1E-5"]),
    st.sampled_from(["1e999", "0x10", "1_0", "1.5.5", "--1", "abc", '"1"', "1,5", "\r", "\t2"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(FIELDS, min_size=N, max_size=N), min_size=1, max_size=6), st.integers(0, 3000))
def test_the_fast_parser_reads_large_bodies_as_the_precise_parser_does(rows: list[list[str]], at: int) -> None:
    good = ",".join(["0.125"] * N)
    lines = [good] * 3000
    for offset, row in enumerate(rows):
        lines.insert(min(at + offset, len(lines)), ",".join(row))
    body = "\n".join(lines).encode()
    try:
        expected: np.ndarray | str = codec._decode_csv(body.decode(), N)
    except RequestError as exc:
        expected = exc.message
    try:
        decoded: np.ndarray | str = codec.decode(body, codec.CSV, N)
    except RequestError as exc:
        decoded = exc.message
    if isinstance(expected, str) or (np.abs(expected) > codec.FLOAT32_MAX).any():
        # Refused either way: the checks after parsing refuse infinite and too large values from both parsers.
        assert isinstance(decoded, str)
    else:
        assert np.array_equal(decoded, expected, equal_nan=True)


PLAIN = st.one_of(
    st.floats(-1e30, 1e30).map(repr),
    st.floats(-1e30, 1e30).map(lambda value: f"{value:.6e}"),
    st.integers(-(10**9), 10**9).map(str),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(PLAIN, min_size=N, max_size=N), min_size=1, max_size=40), st.integers(0, 3000))
def test_arrow_reads_every_large_plain_body_and_as_the_precise_parser_does(rows: list[list[str]], at: int) -> None:
    """A large ASCII body of comma-separated numbers, none missing: Arrow's reader reads it (the fast path ran),
    and gives what the precise parser gives for the same bytes, to the bit."""
    lines = [",".join(["0.125"] * N)] * 3000
    lines[at:at] = [",".join(row) for row in rows]
    body = "\n".join(lines).encode()
    parsed = codec.parse(body, codec.CSV, N)
    assert parsed.parser == codec.ARROW
    expected = codec._decode_csv(body.decode(), N)
    assert parsed.rows.tobytes() == expected.tobytes()
