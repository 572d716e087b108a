"""Cache checks on large inputs: a file's digest is reused while its inode, size and times are unchanged,
and the file is read again whenever its bytes may have changed (its mtime set back included)."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from showcase.local import digests as digests_module
from showcase.local.digests import FileDigests
from tests.local_fakes import Harness, definition, processing

CACHE = {"Enabled": True, "ExpireAfter": "P30D"}
_opened: list[str] = []
_recording = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording[0] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.path.abspath(os.fsdecode(args[0])))


sys.addaudithook(_audit)  # hooks cannot be removed; it records only inside recording()


def recording(action: Any) -> set[str]:
    """The files ``action()`` opens by path."""
    _opened.clear()
    _recording[0] = True
    try:
        action()
    finally:
        _recording[0] = False
    return set(_opened)


def opens_of(path: Path, action: Any) -> int:
    """How many times ``action()`` opens ``path``."""
    _opened.clear()
    _recording[0] = True
    try:
        action()
    finally:
        _recording[0] = False
    return sum(1 for name in _opened if name == str(path))


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of files last changed more than RACY_SECONDS ago (their digests may then be trusted)."""
    root = tmp_path_factory.mktemp("settled")
    for name in ("a.bin", "b.bin", "c.bin", "d.bin", "input.data"):
        (root / name).write_bytes(os.urandom(256 * 1024))
    time.sleep(digests_module.RACY_SECONDS + 0.1)
    return root


def test_an_unchanged_file_is_not_read_again_by_a_later_run(settled: Path, tmp_path: Path) -> None:
    memo = tmp_path / "digests.json"
    file = settled / "a.bin"
    first = FileDigests(memo)
    assert opens_of(file, lambda: first.sha256(file)) == 1
    first.save()
    later = FileDigests(memo)  # a new run: the memo comes from disk
    digest = None

    def check() -> None:
        nonlocal digest
        digest = later.sha256(file)

    assert opens_of(file, check) == 0
    assert digest == hashlib.sha256(file.read_bytes()).hexdigest()
    assert later.bytes_read == 0


def test_new_bytes_with_the_same_size_and_the_old_mtime_are_read_again(settled: Path, tmp_path: Path) -> None:
    file = settled / "b.bin"
    digests = FileDigests(tmp_path / "digests.json")
    before = digests.sha256(file)
    info = file.stat()
    with file.open("r+b") as handle:  # same size, same inode
        handle.write(b"\0" * 16)
    os.utime(file, ns=(info.st_atime_ns, info.st_mtime_ns))  # the mtime set back: only ctime moved
    assert file.stat().st_size == info.st_size and file.stat().st_mtime_ns == info.st_mtime_ns
    after = digests.sha256(file)
    assert after != before
    assert after == hashlib.sha256(file.read_bytes()).hexdigest()


def test_new_bytes_with_a_new_mtime_are_read_again(settled: Path, tmp_path: Path) -> None:
    file = settled / "c.bin"
    digests = FileDigests(tmp_path / "digests.json")
    digests.sha256(file)
    file.write_bytes(b"other bytes")
    assert digests.sha256(file) == hashlib.sha256(b"other bytes").hexdigest()


def test_a_replaced_file_is_read_again(settled: Path, tmp_path: Path) -> None:
    file = settled / "d.bin"
    digests = FileDigests(tmp_path / "digests.json")
    digests.sha256(file)
    replacement = settled / "d.new"
    replacement.write_bytes(file.read_bytes()[::-1])
    os.replace(replacement, file)  # a new inode, as the object store writes every object
    assert opens_of(file, lambda: digests.sha256(file)) == 1


def test_a_file_changed_within_the_clock_tick_it_was_hashed_in_is_read_again(tmp_path: Path) -> None:
    file = tmp_path / "fresh.bin"
    file.write_bytes(b"x" * 1000)
    digests = FileDigests(tmp_path / "digests.json")
    digests.sha256(file)  # stamps as new as the read: not trusted yet
    assert opens_of(file, lambda: digests.sha256(file)) == 1


def test_a_damaged_memo_only_costs_a_read(settled: Path, tmp_path: Path) -> None:
    memo = tmp_path / "digests.json"
    memo.write_text("{not json")
    file = settled / "a.bin"
    assert FileDigests(memo).sha256(file) == hashlib.sha256(file.read_bytes()).hexdigest()


def test_a_cached_rerun_reads_no_unchanged_input(settled: Path, tmp_path: Path) -> None:
    """The engine end to end: the second run's cache check opens neither the local input nor store objects."""
    data = settled / "input.data"
    harness = Harness(tmp_path / "home")
    stored = "s3://bucket/big/part-0"
    harness.store.put_bytes(stored, os.urandom(64 * 1024))
    raw = definition(
        [processing("Prep", inputs={"data": "s3://bucket/big"}, container_arguments=[str(data)], CacheConfig=CACHE)]
    )
    harness.engine.start(raw, pipeline_name="P", parameters={})
    time.sleep(digests_module.RACY_SECONDS + 0.1)  # the stored object was written just now
    harness.engine.start(raw, pipeline_name="P", parameters={})  # re-reads the object once: it was racy
    object_path = harness.store.path_of(stored)
    rerun = Harness(tmp_path / "home")  # a new process's engine: digests come from the memo on disk
    records: list[Any] = []
    opened = recording(lambda: records.append(rerun.engine.start(raw, pipeline_name="P", parameters={})))
    assert records[0].step("Prep").status == "Cached"
    assert str(data) not in opened and str(object_path) not in opened
    assert rerun.engine.digests.bytes_read == 0

    data.write_bytes(data.read_bytes()[::-1])
    changed = rerun.engine.start(raw, pipeline_name="P", parameters={})
    assert changed.step("Prep").status == "Succeeded"
