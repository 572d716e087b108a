"""The local object store: addressing, atomic writes, listing and SageMaker-style staging."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.store import InvalidUri, NoSuchKey, ObjectStore, StoreError, split_uri
from showcase.store.uris import TEMP_PREFIX


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "store")


def test_put_and_get_bytes(store: ObjectStore) -> None:
    uri = store.put_bytes("s3://bucket/a/b/c.txt", b"hello")
    assert uri == "s3://bucket/a/b/c.txt"
    assert store.get_bytes(uri) == b"hello"
    assert store.exists(uri)
    assert store.path_of(uri) == store.root / "bucket" / "a" / "b" / "c.txt"


def test_put_overwrites(store: ObjectStore) -> None:
    store.put_bytes("s3://bucket/k", b"one")
    store.put_bytes("s3://bucket/k", b"two")
    assert store.get_bytes("s3://bucket/k") == b"two"


def test_put_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "local.csv"
    source.write_bytes(b"1,2,3\n")
    store.put_file("s3://bucket/data/local.csv", source)
    assert store.get_bytes("s3://bucket/data/local.csv") == b"1,2,3\n"


def test_put_file_missing_source(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a file"):
        store.put_file("s3://bucket/x", tmp_path / "nope")


def test_get_missing(store: ObjectStore) -> None:
    assert not store.exists("s3://bucket/missing")
    with pytest.raises(NoSuchKey, match="no object at s3://bucket/missing"):
        store.get_bytes("s3://bucket/missing")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("bucket/key", "expected an s3://bucket/key URI"),
        ("https://bucket/key", "expected an s3://bucket/key URI"),
        ("s3://Bucket/key", "bad bucket name"),
        ("s3://../key", "bad bucket name"),
        ("s3://a..b/key", "bad bucket name"),
        ("s3://bucket", "names a bucket, not an object"),
        ("s3://bucket/", "names a bucket, not an object"),
        ("s3://bucket//etc/passwd", "absolute"),
        ("s3://bucket/a/../../etc", "'..' segment"),
        ("s3://bucket/..", "'..' segment"),
        ("s3://bucket/./a", "'.' segment"),
        ("s3://bucket/a//b", "empty path segment"),
        ("s3://bucket/a/", "empty path segment"),
        ("s3://bucket/a\\..\\b", "backslash or NUL"),
        ("s3://bucket/a\x00b", "backslash or NUL"),
        ("s3://bucket/a\nb", "control character"),
        (f"s3://bucket/{TEMP_PREFIX}x", "reserved name prefix"),
    ],
)
def test_rejects_uris_that_could_escape(store: ObjectStore, uri: str, message: str) -> None:
    with pytest.raises(InvalidUri, match=re.escape(message)):
        store.put_bytes(uri, b"x")


def test_prefix_uris_may_end_with_a_slash() -> None:
    assert split_uri("s3://bucket/a/", prefix=True) == ("bucket", "a/")
    assert split_uri("s3://bucket", prefix=True) == ("bucket", "")
    with pytest.raises(InvalidUri, match=r"'\.\.' segment"):
        split_uri("s3://bucket/../", prefix=True)


def test_symlink_inside_root_cannot_lead_out(store: ObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "bucket").mkdir(parents=True)
    (store.root / "bucket" / "link").symlink_to(outside)
    with pytest.raises(InvalidUri, match="outside the store root"):
        store.put_bytes("s3://bucket/link/file", b"x")
    assert not any(outside.iterdir())


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_any_accepted_key_stays_under_the_root(key: str) -> None:
    root = Path("/nonexistent-store-root")
    store = ObjectStore(root)
    try:
        path = store.path_of(f"s3://bucket/{key}")
    except InvalidUri:
        return
    assert path.is_relative_to(root / "bucket")
    assert path != root / "bucket"


def test_key_cannot_be_object_and_directory(store: ObjectStore) -> None:
    store.put_bytes("s3://bucket/a", b"file")
    with pytest.raises(StoreError, match="parent of its key is already an object"):
        store.put_bytes("s3://bucket/a/b", b"x")
    store.put_bytes("s3://bucket/d/e", b"x")
    with pytest.raises(StoreError, match="objects already exist under"):
        store.put_bytes("s3://bucket/d", b"x")


def test_list_is_sorted_and_prefix_based(store: ObjectStore) -> None:
    for key in ["data/train/b.csv", "data/train/a.csv", "data/train2/c.csv", "data/validation/v.csv", "z"]:
        store.put_bytes(f"s3://bucket/{key}", b"x")
    assert store.list("s3://bucket/data/train/") == [
        "s3://bucket/data/train/a.csv",
        "s3://bucket/data/train/b.csv",
    ]
    assert store.list("s3://bucket/data/train") == [
        "s3://bucket/data/train/a.csv",
        "s3://bucket/data/train/b.csv",
        "s3://bucket/data/train2/c.csv",
    ]
    assert store.list("s3://bucket/data/t") == store.list("s3://bucket/data/train")
    assert len(store.list("s3://bucket")) == 5
    assert store.list("s3://bucket/nothing/") == []
    assert store.list("s3://other-bucket/") == []


def test_list_skips_temporary_files(store: ObjectStore) -> None:
    store.put_bytes("s3://bucket/p/real", b"x")
    (store.root / "bucket" / "p" / f"{TEMP_PREFIX}abc").write_bytes(b"half")
    assert store.list("s3://bucket/p/") == ["s3://bucket/p/real"]


def test_download_single_object_by_base_name(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("s3://bucket/code/abc/preprocess.py", b"print(1)")
    written = store.download("s3://bucket/code/abc/preprocess.py", tmp_path / "dest")
    assert written == [tmp_path / "dest" / "preprocess.py"]
    assert written[0].read_bytes() == b"print(1)"


def test_download_prefix_keeps_relative_paths(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("s3://bucket/run/data/train/part-0.csv", b"0")
    store.put_bytes("s3://bucket/run/data/train/sub/part-1.csv", b"1")
    store.put_bytes("s3://bucket/run/data/train2/other.csv", b"2")  # a sibling, not under train/
    dest = tmp_path / "dest"
    written = store.download("s3://bucket/run/data/train", dest)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == ["part-0.csv", "sub/part-1.csv"]
    assert (dest / "sub" / "part-1.csv").read_bytes() == b"1"
    assert store.download("s3://bucket/run/data/train/", tmp_path / "again") == [
        tmp_path / "again" / "part-0.csv",
        tmp_path / "again" / "sub" / "part-1.csv",
    ]


def test_download_nothing_fails(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NoSuchKey, match="no objects under it"):
        store.download("s3://bucket/empty", tmp_path / "dest")


def test_upload_dir_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "out"
    (src / "nested").mkdir(parents=True)
    (src / "a.csv").write_text("a")
    (src / "nested" / "b.json").write_text("{}")
    uris = store.upload_dir(src, "s3://bucket/exec-1/evaluation")
    assert uris == ["s3://bucket/exec-1/evaluation/a.csv", "s3://bucket/exec-1/evaluation/nested/b.json"]
    store.download("s3://bucket/exec-1/evaluation", tmp_path / "back")
    assert (tmp_path / "back" / "nested" / "b.json").read_text() == "{}"


def test_upload_dir_requires_a_directory(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a directory"):
        store.upload_dir(tmp_path / "missing", "s3://bucket/p")


def test_concurrent_writers_never_expose_half_objects(store: ObjectStore) -> None:
    payloads = [bytes([n]) * 2_000_000 for n in range(4)]
    uri = "s3://bucket/shared/object"
    store.put_bytes(uri, payloads[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def write(payload: bytes) -> None:
        for _ in range(5):
            store.put_bytes(uri, payload)
            store.put_bytes(f"s3://bucket/own/{payload[0]}", payload)

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get_bytes(uri))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert seen
    assert all(data in payloads for data in seen)
    assert store.list("s3://bucket/") == [
        *[f"s3://bucket/own/{n}" for n in range(4)],
        "s3://bucket/shared/object",
    ]


def test_stale_temporary_files_are_swept_fresh_ones_kept(tmp_path: Path) -> None:
    import os
    import time

    store = ObjectStore(tmp_path)
    store.put_bytes("s3://bucket/data/kept.csv", b"1")
    stale = tmp_path / "bucket" / "data" / f"{TEMP_PREFIX}stale"
    fresh = tmp_path / "bucket" / "data" / f"{TEMP_PREFIX}fresh"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert store.sweep_stale_temp_files(older_than_s=3600) == 1
    assert not stale.exists() and fresh.exists()
    assert store.list("s3://bucket/data/") == ["s3://bucket/data/kept.csv"]


LONG_PART = "s3://bucket/data/" + "k" * 300


@pytest.mark.parametrize(
    "call",
    [
        lambda store: store.put_bytes(LONG_PART, b"x"),
        lambda store: store.get_bytes(LONG_PART),
        lambda store: store.exists(LONG_PART),
        lambda store: store.list(LONG_PART + "/"),
        lambda store: store.list(LONG_PART),
    ],
    ids=["put", "get", "exists", "list a folder", "list a prefix"],
)
def test_a_key_part_longer_than_a_file_name_is_one_store_error(store: ObjectStore, call: Any) -> None:
    """Each part of a key is a file name here (NAME_MAX, 255 bytes): longer ones used to raise OSError."""
    with pytest.raises(InvalidUri, match=r"has a part of 300 bytes between slashes; .* at most 255 bytes"):
        call(store)


def test_a_key_longer_than_s3s_limit_is_refused(store: ObjectStore) -> None:
    key = "/".join(["é" * 100] * 6)  # 6 parts of 200 bytes each: each fits a file name, the key does not fit S3
    with pytest.raises(InvalidUri, match=r"is 1,205 bytes; S3 keys are at most 1,024 bytes \(UTF-8\)"):
        store.put_bytes(f"s3://bucket/{key}", b"x")
    assert not store.root.exists()


def test_keys_at_the_limits_are_stored(store: ObjectStore) -> None:
    part = "k" * 255
    uri = store.put_bytes(f"s3://bucket/{part}/{part}/{part}/{'é' * 127}", b"x")  # 1,022 bytes
    assert store.get_bytes(uri) == b"x"
    assert store.list(f"s3://bucket/{part}/") == [uri]
