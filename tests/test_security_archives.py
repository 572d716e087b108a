"""Hostile model archives, through every code path that opens one: ``showcase.archives`` (what training writes and
deployment extracts), the serving model loader behind ``showcase-endpoint deploy``, and the evaluate script.

Each refuses an archive that could write outside its destination (``..`` or absolute members), or whose model is
a link or a special file; nothing is written outside, and an endpoint that was serving keeps its old model. The
evaluate script extracts nothing to disk (it reads the one ``xgboost-model`` member in memory), so an extra
hostile member is harmless there and is shown to be: nothing is written and only the model is read.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.archives import ArchiveError, extract_model_archive
from showcase.evaluate import EvaluationError, load_booster
from showcase.registry import Registry
from showcase.serving.errors import ModelLoadError
from showcase.serving.model import extract_and_check
from showcase.store import ObjectStore
from tests.serving_support import (
    ROW,
    XGBOOST_IMAGE,
    RunningServer,
    cli,
    register,
    serving,
    train_booster,
    write_config,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
MODEL = bytes(train_booster().save_raw(raw_format="ubj"))


def member(
    name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", data: bytes = b""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    return info, data


HOSTILE = {
    "dotdot": (member("../escaped", data=b"evil"), r"'\.\./escaped' could escape"),
    "nested-dotdot": (member("a/../../escaped", data=b"evil"), r"could escape"),
    "absolute": (member("/tmp/showcase-escaped", data=b"evil"), r"'/tmp/showcase-escaped' has an absolute path"),
    "symlink-out": (member("out", tarfile.SYMTYPE, "../../.."), r"'out' is a link"),
    "symlink-abs": (member("passwd", tarfile.SYMTYPE, "/etc/passwd"), r"'passwd' is a link \(to '/etc/passwd'\)"),
    "hardlink": (member("hard", tarfile.LNKTYPE, "/etc/passwd"), r"'hard' is a link"),
    "char-device": (member("null", tarfile.CHRTYPE), r"'null' is a device, FIFO or other special file"),
    "block-device": (member("sda", tarfile.BLKTYPE), r"'sda' is a device"),
    "fifo": (member("pipe", tarfile.FIFOTYPE), r"'pipe' is a device"),
}
# The model file itself being a link or a special file: the ways to make a loader read something else.
HOSTILE_MODEL = {
    "model-symlink": member("xgboost-model", tarfile.SYMTYPE, "/etc/passwd"),
    "model-hardlink": member("xgboost-model", tarfile.LNKTYPE, "/etc/passwd"),
    "model-device": member("xgboost-model", tarfile.CHRTYPE),
    "model-fifo": member("xgboost-model", tarfile.FIFOTYPE),
    "model-directory": member("xgboost-model", tarfile.DIRTYPE),
}


def archive(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def good_model() -> tuple[tarfile.TarInfo, bytes]:
    return member("xgboost-model", data=MODEL)


def nothing_escaped(root: Path) -> None:
    assert not (root / "escaped").exists() and not (root.parent / "escaped").exists()
    assert not Path("/tmp/showcase-escaped").exists()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_archives_refuses_every_hostile_member(tmp_path: Path, case: str) -> None:
    hostile, message = HOSTILE[case]
    tar = archive(tmp_path / "in" / "model.tar.gz", good_model(), hostile)
    with pytest.raises(ArchiveError, match=message):
        extract_model_archive(tar, tmp_path / "out" / "dest")
    assert not (tmp_path / "out" / "dest").exists()
    nothing_escaped(tmp_path / "out")


@pytest.mark.parametrize("case", [*HOSTILE, *HOSTILE_MODEL])
def test_the_serving_loader_refuses_with_a_model_load_error(tmp_path: Path, case: str) -> None:
    hostile = HOSTILE[case][0] if case in HOSTILE else HOSTILE_MODEL[case]
    members = [good_model(), hostile] if case in HOSTILE else [hostile]
    tar = archive(tmp_path / "in" / "model.tar.gz", *members)
    with pytest.raises(
        ModelLoadError, match=r"^arn:x: (refusing|model archive|cannot read .*Is a directory)"
    ) as caught:
        extract_and_check(tar, tmp_path / "out" / "dest", model_package_arn="arn:x")
    assert "\n" not in str(caught.value)
    nothing_escaped(tmp_path / "out")


@pytest.mark.parametrize("case", list(HOSTILE_MODEL))
def test_the_evaluate_script_refuses_a_model_that_is_not_a_regular_file(tmp_path: Path, case: str) -> None:
    archive(tmp_path / "model" / "model.tar.gz", HOSTILE_MODEL[case])
    with pytest.raises(EvaluationError, match="xgboost-model in model.tar.gz is not a regular file"):
        load_booster(tmp_path / "model")


@pytest.mark.parametrize("case", list(HOSTILE))
def test_the_evaluate_script_reads_only_the_model_and_writes_nothing(tmp_path: Path, case: str) -> None:
    model_dir = tmp_path / "job" / "model"
    archive(model_dir / "model.tar.gz", HOSTILE[case][0], good_model())
    before = sorted(tmp_path.rglob("*"))
    booster = load_booster(model_dir)
    assert booster.num_features() == 10
    assert sorted(tmp_path.rglob("*")) == before
    nothing_escaped(model_dir)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"model archive .*model\.tar\.gz is empty$"),
        (b"\x1f\x8b\x08\x00 truncated gzip", r"model archive .*model\.tar\.gz is not a valid gzip-compressed tar"),
        (b"PK\x03\x04 a zip file", r"model archive .*model\.tar\.gz is not a tar archive, gzip-compressed or plain"),
    ],
)
def test_unreadable_archives_are_refused_by_every_loader(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.tar.gz").write_bytes(content)
    with pytest.raises(ArchiveError, match=message):
        extract_model_archive(tmp_path / "model" / "model.tar.gz", tmp_path / "a")
    with pytest.raises(ModelLoadError, match=message):
        extract_and_check(tmp_path / "model" / "model.tar.gz", tmp_path / "b", model_package_arn="arn:x")
    with pytest.raises(EvaluationError, match="not a readable tar.gz archive"):
        load_booster(tmp_path / "model")


# -- showcase-endpoint deploy on a serving endpoint ------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("archive-endpoint-home")
    config = write_config(home / "config.json", register(home, train_booster()))
    with serving(home, config, workers=1) as running:
        yield running


def register_archive(home: Path, tar: Path, group: str) -> str:
    uri = ObjectStore(home / "store").put_file(f"s3://showcase-local/hostile/{group}/model.tar.gz", tar)
    response = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": uri}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="Approved",
    )
    return str(response["ModelPackageArn"])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("dotdot", r"member '\.\./escaped' could escape the destination"),
        ("model-symlink", r"member 'xgboost-model' is a link \(to '/etc/passwd'\)"),
        ("truncated", r"model archive .*model\.tar\.gz is corrupt: its gzip stream ends early"),
    ],
)
def test_deploy_refuses_a_hostile_or_corrupt_archive_and_the_old_model_keeps_serving(
    server: RunningServer, tmp_path: Path, case: str, message: str
) -> None:
    home = server.paths.root.parents[1]
    tar = tmp_path / "model.tar.gz"
    if case == "truncated":
        whole = archive(tmp_path / "whole.tar.gz", good_model()).read_bytes()
        tar.write_bytes(whole[: len(whole) // 2])
    elif case in HOSTILE:
        archive(tar, good_model(), HOSTILE[case][0])
    else:
        archive(tar, HOSTILE_MODEL[case])
    before = server.invoke(ROW)
    deployment = json.loads(server.paths.deployment_file.read_text())
    arn = register_archive(home, tar, f"Hostile-{case}")
    result = cli(home, "deploy", "--config", str(write_config(tmp_path / "c.json", arn)))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert arn in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert json.loads(server.paths.deployment_file.read_text()) == deployment  # nothing was deployed
    assert server.invoke(ROW) == before and before[0] == 200
    nothing_escaped(home)


def sparse_archive(path: Path, size: int) -> Path:
    """An uncompressed tar whose one member, ``xgboost-model``, declares ``size`` bytes of zeros, written as a
    hole: the file takes a few KiB of disk whatever ``size`` is, and tar's header states the size in full."""
    info = tarfile.TarInfo("xgboost-model")
    info.size = size
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    with path.open("wb") as out:
        out.write(header)
        out.seek(len(header) + size + (-size % 512))
        out.write(bytes(2 * 512))  # the end-of-archive blocks
    return path


def test_the_serving_loader_refuses_an_archive_declaring_more_than_4_gib(tmp_path: Path) -> None:
    """The real limit, on the loader ``showcase-endpoint`` uses, before a byte is extracted."""
    tar = sparse_archive(tmp_path / "model.tar.gz", 4 * 1024**3 + 512)
    with pytest.raises(ModelLoadError, match=r"^arn:x: refusing .*it expands to 4,294,967,808 bytes, more than the "
                       r"4,294,967,296 a model archive may hold$"):  # fmt: skip
        extract_and_check(tar, tmp_path / "out" / "dest", model_package_arn="arn:x")
    assert not (tmp_path / "out").exists()
