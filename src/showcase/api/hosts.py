"""Which ``Host`` headers the local API answers: this machine's loopback names, on the port it listens on.

A page in a browser can send requests to 127.0.0.1; checking ``Host`` is what stops a DNS-rebinding page (whose
requests carry its own host name) from reaching the API. ``<bucket>.localhost`` is S3's virtual-hosted style
(botocore's ``addressing_style="virtual"`` against ``http://localhost:<port>``).
"""

from __future__ import annotations

import re

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_HOST = re.compile(r"^(?:\[(?P<ipv6>[^\]]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>[0-9]{1,5}))?$")
_VIRTUAL_BUCKET = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.localhost$")


def split_host(host: str) -> tuple[str, int | None] | None:
    """``name[:port]`` or ``[ipv6][:port]`` -> (name, port); None when it is neither."""
    match = _HOST.match(host.strip().lower())
    if not match:
        return None
    port = match.group("port")
    return match.group("ipv6") or match.group("name"), int(port) if port else None


def host_allowed(host: str, port: int) -> bool:
    """Whether ``host`` names this machine's loopback (or ``<bucket>.localhost``) on ``port`` (or no port)."""
    parts = split_host(host)
    if parts is None:
        return False
    name, given_port = parts
    if given_port not in (None, port):
        return False
    return name in LOOPBACK_NAMES or _VIRTUAL_BUCKET.match(name) is not None


def virtual_bucket(host: str) -> str | None:
    """The bucket of a virtual-hosted-style S3 request (``<bucket>.localhost:<port>``), else None."""
    parts = split_host(host)
    match = _VIRTUAL_BUCKET.match(parts[0]) if parts else None
    return match.group("bucket") if match else None
