"""``serving.hosts``: the Host names a local server answers to (the guard against DNS rebinding), in-process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from showcase.serving.hosts import HostGuard, allowed_hosts, allowed_name, host_name


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("LocalHost:80", "localhost"),
        ("[::1]", "::1"),
        ("[::1]:8765", "::1"),
        ("dash.lan", "dash.lan"),
        ("::1", None),  # an IPv6 literal needs its brackets in a Host
        ("a b", None),
        ("user@127.0.0.1", None),
        ("127.0.0.1/x", None),
        ("127.0.0.1:80:80", None),
        ("[::1", None),
        ("", None),
    ],
)
def test_the_name_in_a_host_header(header: str, name: str | None) -> None:
    assert host_name(header) == name


def test_the_names_a_server_answers_to() -> None:
    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts("0.0.0.0") == {"127.0.0.1", "localhost", "::1"}  # every interface names no host
    assert allowed_hosts("::") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts("192.168.1.5", ["Dash.LAN", "[fe80::1]"]) == {
        "127.0.0.1", "localhost", "::1", "192.168.1.5", "dash.lan", "fe80::1",
    }  # fmt: skip


@pytest.mark.parametrize("text", ["dash.lan:8765", "http://dash.lan", "a b", "", "0.0.0.0", "x/y"])
def test_an_allowed_host_must_be_a_bare_name(text: str) -> None:
    with pytest.raises(ValueError, match="expected a host name or IP address without a port"):
        allowed_name(text)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls.append(scope["type"])


def call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/invocations", "headers": list(headers)}


def test_the_guard_passes_its_names_and_lifespan_and_refuses_others_in_one_line() -> None:
    inner = Recorder()
    guard = HostGuard(inner, allowed_hosts("127.0.0.1"))
    assert call(guard, http((b"host", b"localhost:8080"))) == []
    assert call(guard, {"type": "lifespan"}) == []
    assert inner.calls == ["http", "lifespan"]
    for headers in ([(b"host", b"rebind.attacker.example:8080")], [(b"host", b"a b")], []):
        sent = call(guard, http(*headers))
        start, body = sent
        assert start["status"] == 400 and (b"x-content-type-options", b"nosniff") in start["headers"]
        text = body["body"].decode()
        assert text.count("\n") == 1 and "Host" in text
    assert inner.calls == ["http", "lifespan"]
    every = call(guard, http((b"host", b"0.0.0.0:8080")))[1]["body"].decode()
    assert every.startswith("0.0.0.0 stands for every interface") and "127.0.0.1" in every
    refused = call(guard, http((b"host", b"rebind.attacker.example")))[1]["body"].decode()
    assert refused == (
        "this server answers to 127.0.0.1, ::1, localhost, not to the Host 'rebind.attacker.example'; if you reach it "
        "by that name on purpose, start it with --allowed-host rebind.attacker.example\n"
    )
