"""The inputs of a build, as its cache entry keeps them, and the check that they are all still the same.

An entry's ``inputs`` hold: the SDK's installed version (for a build in the SDK v2 environment, the digest
of that environment's lock and interpreter too, ``sdk_v2_lock``, which is checked instead); every project file
the build imported or opened, by sha256; every project directory it listed, by its sorted names; every
environment variable it read, by a digest of its value (or ``null``: unset); and when it enumerated the
environment, a digest of all of it or of the slices its readers are known to use (``recording``).

No variable's value is kept, only ``HMAC-SHA256(salt, [name, value])`` under a random salt of the entry's
own, kept in the entry. A digest tells a change apart, which is all the check needs; the salt makes the same
value give unrelated digests in two entries or under two names, and leaves no precomputed table of use. A
credential (an AWS secret access key: 40 characters of base64, about 240 bits) cannot be recovered from its
digest; a value short enough to guess could be tried against it one guess at a time, which is why what the
build sets for itself (``Reads.pinned``: the credentials a local build replaces before the module is
imported) is not recorded at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import site
import sys
import sysconfig
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from showcase.builder.recording import Reads, Slice, in_slice

SDK_DISTRIBUTION = "sagemaker"
SYSTEM_DIRECTORIES = ("/proc/", "/sys/", "/dev/", "/run/", "/usr/", "/etc/", "/lib/", "/lib64/", "/bin/", "/sbin/")
"""Files here are the machine's (time zones, CA bundles, /proc counters), not inputs of a build."""


class Digests(Protocol):
    """The sha256 of a file (``showcase.local.digests.FileDigests``, which remembers it between runs)."""

    def sha256(self, path: str) -> str: ...


class Stale(Exception):
    """A kept definition cannot be used; the message says which of its inputs changed."""


def sdk_version() -> str | None:
    """The installed SageMaker SDK's version, from its dist-info directory's name (the SDK is not imported)."""
    spec = importlib.util.find_spec(SDK_DISTRIBUTION)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        parent = Path(location).parent
        for info in sorted(parent.glob(f"{SDK_DISTRIBUTION}-*.dist-info")):
            return info.name.removeprefix(f"{SDK_DISTRIBUTION}-").removesuffix(".dist-info")
    return None


def outside_project() -> tuple[str, ...]:
    """Directories whose files are the interpreter's and installed packages', not the project's."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(sysconfig.get_paths().values())
    with contextlib.suppress(AttributeError):
        roots.update(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        roots.add(site.getusersitepackages())
    return (*(os.path.join(os.path.realpath(root), "") for root in roots if root), *SYSTEM_DIRECTORIES)


def _project_path(path: str, outside: tuple[str, ...], home: tuple[str, ...]) -> bool:
    real = os.path.join(os.path.realpath(path), "")
    return not real.startswith(outside) and not real.startswith(home)


def _keyed(salt: str, *parts: Any) -> str:
    return hmac.new(bytes.fromhex(salt), json.dumps(parts).encode(), hashlib.sha256).hexdigest()


def _variable(salt: str, name: str, value: str | None) -> str | None:
    return None if value is None else _keyed(salt, name, value)


def _environment(salt: str, environ: Mapping[str, str], pinned: set[str], part: Callable[[str], bool]) -> str:
    """One digest of the variables ``part`` selects, those the build set for itself left out."""
    return _keyed(salt, sorted((name, value) for name, value in environ.items() if name not in pinned and part(name)))


def _everything(name: str) -> bool:
    return True


def _selector(part: Slice) -> Callable[[str], bool]:
    return lambda name: in_slice(name, part)


def recorded(reads: Reads, imported: set[str], home: Path | None, digests: Digests) -> dict[str, Any]:
    """The inputs of the build that made ``reads`` (``imported``: the files of the modules loaded after it),
    for its cache entry. Files and directories under ``home`` (the state directory) are not inputs, nor those
    the recording was told are not the project's (``reads.outside``)."""
    outside = tuple(sorted({*outside_project(), *reads.outside}))
    home_prefix = (os.path.join(os.path.realpath(home), ""),) if home is not None else ()
    files = sorted(
        name for name in imported | reads.opened if _project_path(name, outside, home_prefix) and os.path.isfile(name)
    )
    directories = {
        directory: sorted(os.listdir(directory))
        for directory in sorted(reads.listed)
        if _project_path(directory, outside, home_prefix) and os.path.isdir(directory)
    }
    salt = secrets.token_hex(16)
    before, pinned = reads.environ_before, reads.pinned
    return {
        "sdk": sdk_version(),
        "salt": salt,
        "pinned": sorted(pinned),
        "variables": {name: _variable(salt, name, before.get(name)) for name in sorted(reads.variables - pinned)},
        "whole_environment": reads.whole_environment,
        "environment": _environment(salt, before, pinned, _everything) if reads.whole_environment else None,
        "slices": [[*part, _environment(salt, before, pinned, _selector(part))] for part in sorted(reads.slices)],
        "directories": directories,
        "files": {name: digests.sha256(name) for name in files},
    }


def changed_files(inputs: dict[str, Any], digests: Digests) -> list[str]:
    """The files whose content changed while every other input is current; raises Stale naming the first
    other input that changed."""
    sdk_v2_lock = inputs.get("sdk_v2_lock")
    if sdk_v2_lock is not None:
        from showcase import v2env

        if sdk_v2_lock != v2env.digest():
            raise Stale("the SDK v2 environment's lock or this interpreter changed")
    elif inputs["sdk"] != sdk_version():
        raise Stale(f"the SageMaker SDK changed ({inputs['sdk']} -> {sdk_version()})")
    _check_environment(inputs)
    for directory, names in inputs["directories"].items():
        try:
            now = sorted(os.listdir(directory))
        except OSError as exc:
            raise Stale(f"directory {directory!r} cannot be listed ({exc.strerror})") from None
        if now != names:
            differ = sorted(set(now) ^ set(names))
            raise Stale(f"the names in {directory!r} changed ({', '.join(differ[:3]) or 'their order'})")
    changed = []
    for file, digest in inputs["files"].items():
        try:
            if digests.sha256(file) != digest:
                changed.append(file)
        except OSError as exc:
            raise Stale(f"{file!r} cannot be read ({exc.strerror})") from None
    return changed


def _check_environment(inputs: dict[str, Any]) -> None:
    salt, pinned, environ = inputs["salt"], set(inputs["pinned"]), os.environ
    if inputs["whole_environment"] and inputs["environment"] != _environment(salt, environ, pinned, _everything):
        raise Stale("the environment changed (the build listed every variable)")
    for kind, value, digest in inputs["slices"]:
        if _environment(salt, environ, pinned, _selector((kind, value))) != digest:
            which = {"suffix": f"ending in {value}", "prefix": f"starting with {value}"}.get(kind, value)
            raise Stale(f"the environment variables {which} changed")
    for name, digest in inputs["variables"].items():
        if _variable(salt, name, environ.get(name)) != digest:
            raise Stale(f"environment variable {name} changed")
