"""``serving.bounds``: the HTTP protocol every server here runs, on a real uvicorn server on a loopback port.

The app is a tiny ASGI echo (the body's length); the bounds are the defaults except the deadlines, made short
so the tests wait a fraction of a second. Every wait is a socket timeout: nothing asserts on time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from showcase.serving.bounds import Limits, uvicorn_config

SHORT = Limits(head_timeout_s=0.3, body_timeout_s=0.3, max_body_bytes=1000)
WAIT_S = 20.0
"""The longest a test waits for an answer (a socket timeout, far above the deadlines above)."""


class Echo:
    """Answers 200 with the length of the body it read; remembers each request's end (``body`` or ``disconnect``)."""

    def __init__(self) -> None:
        self.ends: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.ends.append("disconnect")
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.ends.append("body")
        body = str(size).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture()
def echo() -> Echo:
    return Echo()


@pytest.fixture()
def port(echo: Echo) -> Iterator[int]:
    server = uvicorn.Server(
        uvicorn_config(echo, SHORT, host="127.0.0.1", port=0, log_level="error", timeout_keep_alive=30)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start within 10 s"
        time.sleep(0.02)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def exchange(port: int, data: bytes) -> bytes:
    with connect(port) as sock:
        sock.sendall(data)
        return read_all(sock)


def request(*headers: str, body: bytes = b"", target: str = "/", method: str = "POST", close: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_request_inside_the_bounds_is_answered(port: int) -> None:
    """100 header fields (Host, Content-Length and Connection among them), 16,000 bytes of head in all."""
    data = request(*(f"X-{i}: {'v' * 150}" for i in range(97)), body=b"1,2,3")
    assert 15_000 < data.index(b"\r\n\r\n") < 16_384
    answer = exchange(port, data)
    assert status(answer) == 200 and answer.endswith(b"\r\n\r\n5")


@pytest.mark.parametrize("split", [1, 7, 100, 4096])
def test_a_request_split_into_any_pieces_is_answered(port: int, split: int) -> None:
    """The head's bytes are counted once, however the reads cut it (and its body) into pieces."""
    data = request(*(f"X-{i}: {'v' * 140}" for i in range(90)), body=b"x" * 900)
    assert len(data) > 13_000
    with connect(port) as sock:
        for start in range(0, len(data), split):
            sock.sendall(data[start : start + split])
        answer = read_all(sock)
    assert status(answer) == 200 and answer.endswith(b"\r\n\r\n900")


def test_headers_over_16_kib_get_431_and_a_closed_connection(port: int, echo: Echo) -> None:
    answer = exchange(port, request(*(f"X-{i}: {'v' * 1000}" for i in range(17)), close=False))
    assert status(answer) == 431 and b"larger than 16384 bytes" in answer
    assert echo.ends == []  # the app never saw it


def test_more_than_100_header_fields_get_431(port: int) -> None:
    answer = exchange(port, request(*(f"X-{i}: 1" for i in range(101)), close=False))
    assert status(answer) == 431 and b"more than 100 header fields" in answer


def test_a_request_line_over_16_kib_gets_414(port: int) -> None:
    answer = exchange(port, request(target="/" + "a" * 17_000, method="GET", close=False))
    assert status(answer) == 414 and b"request line is longer than 16384 bytes" in answer


def test_one_endless_header_is_cut_once_it_passes_the_bound(port: int) -> None:
    """200 MB of one header value: the server stops reading after the bound (plus what the kernel buffers),
    answers 431 and closes; the client's sending fails long before it sent everything."""
    total, sent = 200 * 2**20, 0
    with connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
        chunk = b"a" * 65536
        with pytest.raises(OSError):
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        answer = sock.recv(65536)
    assert status(answer) == 431 and sent < total // 10


def test_a_head_that_does_not_arrive_in_time_gets_408(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = read_all(sock)  # the server answers and closes after head_timeout_s
    assert status(answer) == 408 and b"headers did not arrive within 0.3 s" in answer


def test_a_head_sent_a_byte_at_a_time_is_cut_at_its_deadline(port: int) -> None:
    """Bytes that keep coming do not move the deadline (the slow-loris pattern)."""
    data = request(*(f"X-{i}: 1" for i in range(50)))
    with connect(port) as sock:
        answer = b""
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.01)
        answer = read_all(sock)
    assert status(answer) == 408


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    with connect(port) as sock:
        assert read_all(sock) == b""


def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_app_sees_a_disconnect(port: int, echo: Echo) -> None:
    with connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n1,2,3")
        answer = read_all(sock)
    assert status(answer) == 408 and b"body did not arrive within 0.3 s" in answer
    for _ in range(100):  # the app's task ends on the loop's next turns
        if echo.ends:
            break
        time.sleep(0.02)
    assert echo.ends == ["disconnect"]


def test_a_body_over_its_bound_gets_413_before_the_app_runs(port: int, echo: Echo) -> None:
    declared = exchange(port, request(body=b"x" * 1001, close=False))
    assert status(declared) == 413 and b"larger than 1000 bytes" in declared
    chunked = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"200\r\n" + b"x" * 512
    answer = exchange(port, chunked + b"\r\n200\r\n" + b"x" * 512 + b"\r\n0\r\n\r\n")
    assert status(answer) == 413
    assert echo.ends.count("body") == 0


def test_an_idle_keep_alive_connection_is_not_cut_by_the_head_deadline(port: int) -> None:
    """Between requests the keep-alive timeout applies, not the head's: a pause longer than head_timeout_s is fine."""
    with connect(port) as sock:
        for _ in range(2):
            sock.sendall(request(body=b"12", close=False))
            answer = sock.recv(65536)
            assert status(answer) == 200 and answer.endswith(b"2")
            time.sleep(SHORT.head_timeout_s * 3)


def test_pipelined_requests_are_each_answered(port: int) -> None:
    answer = exchange(port, request(body=b"1", close=False) + request(body=b"22", close=False) + request(body=b"333"))
    assert answer.count(b"HTTP/1.1 200") == 3 and answer.endswith(b"3")


def test_malformed_http_still_gets_uvicorns_400(port: int) -> None:
    assert status(exchange(port, b"GARBAGE\r\n\r\n")) == 400
