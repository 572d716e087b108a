"""Model archives: reproducible writing, and refusal of members that could escape the destination."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from showcase.archives import ArchiveError, extract_model_archive, write_model_archive


def _malicious_tar(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        safe = tarfile.TarInfo("xgboost-model")
        safe.size = 2
        tar.addfile(safe, io.BytesIO(b"ok"))
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, size
    return info


def test_round_trip(tmp_path: Path) -> None:
    model = tmp_path / "xgboost-model"
    model.write_bytes(b"{}")
    tar = write_model_archive([model], tmp_path / "out" / "model.tar.gz")
    written = extract_model_archive(tar, tmp_path / "extracted")
    assert written == [tmp_path / "extracted" / "xgboost-model"]
    assert written[0].read_bytes() == b"{}"


def test_write_is_reproducible_and_named(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(b"model")
    first = write_model_archive({"xgboost-model": tmp_path / "m"}, tmp_path / "a.tar.gz").read_bytes()
    second = write_model_archive({"xgboost-model": tmp_path / "m"}, tmp_path / "b.tar.gz").read_bytes()
    assert first == second
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        assert tar.getmember("xgboost-model").mtime == 0


def test_write_refuses_escaping_names(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(b"model")
    with pytest.raises(ArchiveError, match=re.escape("'../m'")):
        write_model_archive({"../m": tmp_path / "m"}, tmp_path / "a.tar.gz")
    assert not (tmp_path / "a.tar.gz").exists()


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_member("../evil", size=4), r"member '\.\./evil' could escape"),
        (_member("a/../../evil", size=4), r"member 'a/\.\./\.\./evil' could escape"),
        (_member("/etc/evil", size=4), r"member '/etc/evil' has an absolute path"),
        (_member("link", tarfile.SYMTYPE, "/etc/passwd"), r"member 'link' is a link \(to '/etc/passwd'\)"),
        (_member("hard", tarfile.LNKTYPE, "xgboost-model"), r"member 'hard' is a link"),
        (_member("dev", tarfile.CHRTYPE), r"member 'dev' is a device, FIFO or other special file"),
        (_member("fifo", tarfile.FIFOTYPE), r"member 'fifo' is a device"),
    ],
)
def test_malicious_members_are_refused(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    tar = _malicious_tar(tmp_path / "evil.tar.gz", member, b"evil" if member.size else b"")
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError, match=message):
        extract_model_archive(tar, dest)
    assert not dest.exists()  # refused before anything was written
    assert not (tmp_path / "evil").exists()


def test_unreadable_archive(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"not a tar")
    with pytest.raises(ArchiveError, match=r"^model archive .*model\.tar\.gz is not a tar archive, gzip-compressed"):
        extract_model_archive(bad, tmp_path / "dest")


def test_an_archive_that_expands_past_the_limit_is_refused_before_writing(tmp_path: Path) -> None:
    """A compression bomb: 4 MiB of zeros gzips to a few KiB; with a 1 MiB limit nothing is written."""
    import io
    import tarfile

    from showcase.archives import ArchiveError, extract_model_archive

    bomb = tmp_path / "model.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = 4 * 1024 * 1024
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert bomb.stat().st_size < 64 * 1024
    with pytest.raises(ArchiveError, match="expands to 4,194,304 bytes, more than the 1,048,576"):
        extract_model_archive(bomb, tmp_path / "out", max_bytes=1024 * 1024)
    assert not (tmp_path / "out").exists()
