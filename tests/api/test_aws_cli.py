"""The AWS CLI (v1, from PyPI) against the real API with nothing but AWS_ENDPOINT_URL: ``aws s3 cp``, ``sync``,
``ls``, a multipart upload over 8 MiB, ranged gets through ``aws s3api``, and its one-line errors."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.store import ObjectStore
from tests.api.conftest import Api

AWS = Path(sys.executable).parent / "aws"


def aws(api: Api, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(AWS), *args], env=api.env(), capture_output=True, text=True, timeout=300, cwd=api.home)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def bucket(api: Api) -> str:
    aws(api, "s3", "mb", "s3://cli-bucket")
    return "cli-bucket"


def test_cp_up_and_down_with_a_multipart_upload_over_8_mib(api: Api, bucket: str, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024 + 123))
    aws(api, "s3", "cp", str(big), f"s3://{bucket}/data/big.bin")
    assert ObjectStore(api.home / "store").get_bytes(f"s3://{bucket}/data/big.bin") == big.read_bytes()
    back = tmp_path / "back.bin"
    aws(api, "s3", "cp", f"s3://{bucket}/data/big.bin", str(back))
    assert filecmp.cmp(big, back, shallow=False)


def test_sync_uploads_what_changed_and_ls_lists_it(api: Api, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "project"
    (source / "code").mkdir(parents=True)
    (source / "code" / "train.py").write_text("print('train')\n")
    (source / "code" / "evaluate.py").write_text("print('evaluate')\n")
    (source / "README.md").write_text("# notes\n")
    first = aws(api, "s3", "sync", str(source), f"s3://{bucket}/project")
    assert first.stdout.count("upload:") == 3
    again = aws(api, "s3", "sync", str(source), f"s3://{bucket}/project")
    assert "upload:" not in again.stdout  # nothing changed: sizes and times match
    (source / "code" / "train.py").write_text("print('train, v2 with more bytes')\n")
    changed = aws(api, "s3", "sync", str(source), f"s3://{bucket}/project")
    assert changed.stdout.count("upload:") == 1 and "train.py" in changed.stdout
    listing = aws(api, "s3", "ls", f"s3://{bucket}/project/").stdout
    assert "PRE code/" in listing and "README.md" in listing
    recursive = aws(api, "s3", "ls", "--recursive", f"s3://{bucket}/project/").stdout.splitlines()
    assert sorted(line.split()[-1] for line in recursive) == [
        "project/README.md",
        "project/code/evaluate.py",
        "project/code/train.py",
    ]
    down = tmp_path / "down"
    aws(api, "s3", "sync", f"s3://{bucket}/project", str(down))
    assert (down / "code" / "train.py").read_text() == "print('train, v2 with more bytes')\n"
    buckets = aws(api, "s3", "ls").stdout
    assert bucket in buckets


def test_ranged_get_through_s3api(api: Api, bucket: str, tmp_path: Path) -> None:
    ObjectStore(api.home / "store").put_bytes(f"s3://{bucket}/digits.txt", b"0123456789")
    out = tmp_path / "part.txt"
    result = aws(
        api, "s3api", "get-object", "--bucket", bucket, "--key", "digits.txt", "--range", "bytes=3-6", str(out)
    )
    assert out.read_bytes() == b"3456"
    assert '"ContentRange": "bytes 3-6/10"' in result.stdout


def test_errors_are_one_line_and_exit_non_zero(api: Api, bucket: str, tmp_path: Path) -> None:
    missing = aws(api, "s3api", "head-object", "--bucket", bucket, "--key", "nothing-here", check=False)
    assert missing.returncode != 0
    assert "(404)" in missing.stderr and "Traceback" not in missing.stderr
    unknown = aws(api, "s3api", "get-bucket-policy", "--bucket", bucket, check=False)
    assert unknown.returncode != 0
    assert "NotImplemented" in unknown.stderr and "GetBucketPolicy" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    no_bucket = aws(api, "s3", "cp", str(Path(__file__)), "s3://no-such-cli-bucket/x", check=False)
    assert no_bucket.returncode != 0 and "NoSuchBucket" in no_bucket.stderr
