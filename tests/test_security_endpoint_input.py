"""Hostile and malformed requests to /invocations: thousands of generated bodies through the ASGI app in-process,
a few hundred against the real server, and malformed HTTP on a raw socket. Whatever arrives, the answer is never
a 5xx, no worker dies, and a refusal says what was wrong."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showcase.serving import codec
from showcase.serving.app import EndpointApp
from showcase.store import ObjectStore
from tests.serving_support import ROW, RunningServer, register, serving, train_booster, write_config
from tests.test_serving_app import deploy, invoke

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
N = 10

# What a refusal must talk about, by status: the offending row/column/value, the header, or the size.
EXPLAINS = {
    400: re.compile(r"row \d+|the body|not UTF-8|XGBoost could not predict"),
    406: re.compile(r"^Accept .* is not supported; use "),
    413: re.compile(r"larger than \d+ bytes"),
    415: re.compile(r"^Content-Type .*(not supported|label)"),
}

FIELDS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(width=32).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", " ", "nan", "NaN", "-nan", "inf", "-Infinity", "1e39", "3.5e38", "1e308", "-1e308", "1e999", "1e-400",
         "0x1p3", "1_000", "+1", "--1", "1e", ".", "1,5", '"1"', "\x00", "\t2\t", "9" * 400, "١٢", "true", "null"]
    ),
    st.text(max_size=6),
)  # fmt: skip
CSV_ROWS = st.lists(FIELDS, min_size=0, max_size=13).map(",".join)
LIBSVM_ROWS = st.lists(
    st.one_of(
        st.tuples(st.integers(-3, 14), FIELDS).map(lambda pair: f"{pair[0]}:{pair[1]}"),
        st.sampled_from(["1", "a:b", ":", "1:", ":1", "99999999999999999999:1", "0:1:2"]),
    ),
    max_size=6,
).map(" ".join)
SEPARATORS = st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\n \n", "\n\t\n"])
TEXT_BODIES = st.tuples(st.lists(st.one_of(CSV_ROWS, LIBSVM_ROWS), max_size=6), SEPARATORS).map(
    lambda parts: parts[1].join(parts[0])
)
BODIES = st.one_of(
    TEXT_BODIES.map(str.encode),
    st.binary(max_size=300),
    # Valid text with bytes that are not UTF-8 spliced in somewhere.
    st.tuples(TEXT_BODIES, st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff", b"\x80abc"])).map(
        lambda t: t[0].encode()[: len(t[0]) // 2] + t[1] + t[0].encode()[len(t[0]) // 2 :]
    ),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        ["text/csv", "TEXT/CSV", "text/csv; charset=utf-8", 'text/csv; charset="UTF-8"', "text/csv; charset=latin-1",
         "text/csv; label_size=0", "text/csv; label_size=1", "text/csv;;;", "text/libsvm", "text/x-libsvm",
         "application/json", "application/x-npy", "multipart/form-data; boundary=x", "", ";", "text/csv; =x"]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)  # fmt: skip
ACCEPTS = st.one_of(
    st.sampled_from(
        ["text/csv", "application/json", "application/jsonlines", "*/*", "text/*", "application/*", "x/y", "",
         "text/html, application/json;q=0.1", ",,,", "application/json; q=abc"]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)  # fmt: skip


def check_answer(status: int, headers: dict[str, str], body: bytes, sent: bytes, content_type: str) -> None:
    """The properties every answer has, whatever was sent."""
    assert status in (200, 204, 400, 406, 413, 415), (status, body[:300])
    if status == 204:
        assert sent == b"" and body == b""
    elif status == 200:
        kind = headers["content-type"]
        if kind.startswith("text/csv"):
            predictions = [float(line) for line in body.decode().splitlines()]
            assert all(np.isfinite(predictions))
            if codec.content_type_of(content_type) == codec.CSV:
                assert len(predictions) == sum(1 for line in sent.decode().split("\n") if line.strip())
    else:
        message = body.decode()
        assert message.endswith("\n") and "Traceback" not in message
        assert EXPLAINS[status].search(message), (status, message)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> EndpointApp:
    home = tmp_path_factory.mktemp("fuzz-home")
    paths = deploy(home, register(home, train_booster()))
    return EndpointApp.from_home(paths, ObjectStore(home / "store"))


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES, content_type=CONTENT_TYPES, accept=ACCEPTS)
def test_thousands_of_generated_bodies_in_process(
    app: EndpointApp, body: bytes, content_type: str, accept: str
) -> None:
    status, headers, response = invoke(app, body, content_type=content_type, accept=accept)
    check_answer(status, headers, response, body, content_type)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        # An enormous line: one row of 1 MiB of values (the fast parser's size, the precise parser's message).
        ("1," * 524_288, 400, r"row 1 has 524289 values; the model takes 10"),
        (",".join(["9" * 400_000] * N), 400, r"row 1, column 1: inf is not a finite number"),
        ("9" * 5_000_000, 400, r"row 1 has 1 values"),
        ("x" * (codec.MAX_PAYLOAD_BYTES + 1), 413, r"larger than 6291456 bytes"),
        ("\n" * 100_000, 400, r"the body holds no rows"),
        ((ROW + "\n") * 2000 + ROW + ",1", 400, r"row 2001 has 11 values"),
        ((ROW + "\n") * 2000 + "\n".join(["nan"] * 3), 400, r"row 2001 has 1 values"),
        (("1," + ROW + "\n") * 2000, 400, r"row 1 has 11 values"),  # was accepted: the first column became an index
        (("1,2," + ROW + "\n") * 2000, 400, r"row 1 has 12 values"),
    ],
    ids=["1MiB-line", "huge-numbers", "5MB-field", "over-6MiB", "only-newlines", "last-row-long", "nan-rows",
         "label-column-large", "two-extra-large"],
)  # fmt: skip
def test_enormous_and_wide_bodies_are_refused_naming_the_problem(
    app: EndpointApp, body: str, status: int, message: str
) -> None:
    got, _, response = invoke(app, body, content_type="text/csv")
    assert (got, bool(re.search(message, response.decode()))) == (status, True), response[:300]


@pytest.mark.parametrize("copies", [1, 2000])  # below and above the fast parser's size
def test_a_label_column_is_refused_at_any_size(app: EndpointApp, copies: int) -> None:
    """Rows of 11 values (a label left in) are refused, whether the body takes the precise or the fast parser."""
    body = "\n".join(["12," + ROW] * copies)
    status, _, response = invoke(app, body, content_type="text/csv")
    assert status == 400
    assert "row 1 has 11 values; the model takes 10 features" in response.decode()


# -- the real server -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("fuzz-server-home")
    config = write_config(home / "config.json", register(home, train_booster()))
    with serving(home, config, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def workers_at_start(server: RunningServer) -> list[int]:
    return server.workers()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES, content_type=CONTENT_TYPES, accept=ACCEPTS)
def test_hundreds_of_generated_bodies_over_http(
    server: RunningServer, workers_at_start: list[int], body: bytes, content_type: str, accept: str
) -> None:
    headers = {"Content-Type": content_type, "Accept": accept}
    status, response_headers, response = server.request("POST", "/invocations", body, headers)
    check_answer(status, response_headers, response, body, content_type)
    assert server.workers() == workers_at_start, "a worker died"


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n1,2",  # body cut short
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \xff\xfe\r\nContent-Length: 3\r\n\r\n1,2",
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"100000\r\n" + b"1" * 0x100000 + b"\r\n" for _ in range(7))
        + b"0\r\n\r\n",  # 7 MiB in chunks, no Content-Length: the app counts
    ],
    ids=["garbage", "negative-length", "text-length", "two-lengths", "short-body", "huge-header", "bad-chunk",
         "binary-header", "chunked-7MiB"],
)  # fmt: skip
def test_malformed_http_gets_no_5xx_and_kills_no_worker(
    server: RunningServer, workers_at_start: list[int], request_bytes: bytes
) -> None:
    answer = raw_exchange(server.port, request_bytes)
    status_line = answer.split(b"\r\n", 1)[0]
    assert not re.match(rb"HTTP/1\.[01] 5", status_line), answer[:300]
    if len(request_bytes) > codec.MAX_PAYLOAD_BYTES:
        assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    if b"X-Big" in request_bytes:  # 100,000 bytes of one header: over the 16 KiB bound on a request's head
        assert status_line.startswith(b"HTTP/1.1 431"), answer[:300]
    assert server.workers() == workers_at_start
    assert server.invoke(ROW)[0] == 200


def test_the_workers_survived_the_whole_module(server: RunningServer, workers_at_start: list[int]) -> None:
    assert server.workers() == workers_at_start
    assert "Traceback" not in server.log.read_text()
