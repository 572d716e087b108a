"""What a job leaves in its output folders is uploaded from its own directory only. A symbolic link that leads out
of the job's directory (on this host it names the host's files, not a container's) fails the step, naming the
output and the link, and nothing of it is uploaded; a link that stays inside the job's directory is followed, as
the container's uploader follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from showcase.errors import StepFailed
from showcase.local.steps import STEP_TYPES, user_code
from showcase.registry import Registry
from showcase.store import ObjectStore, StoreError
from showcase.store.objects import job_files
from tests.test_executors import BUCKET, make_context, processing_arguments

LINK = """\
import os, pathlib, shutil, sys
out = pathlib.Path(sys.argv[1])
if os.environ["LINK"] == "out":
    shutil.rmtree(out)
    os.symlink(os.environ["HOST_DIR"], out)  # the whole output folder: the host's files
elif os.environ["LINK"] == "file-out":
    (out / "keys").symlink_to(pathlib.Path(os.environ["HOST_DIR"]) / "id_secret")
else:
    (out / "data.txt").write_text("mine")
    (out / "alias.txt").symlink_to("data.txt")
    (out / "inputs").symlink_to("../../input/data")  # a folder of the job's own directory
"""


@pytest.fixture()
def host_dir(tmp_path: Path) -> Path:
    secrets = tmp_path / "host-ssh"
    secrets.mkdir()
    (secrets / "id_secret").write_text("PRIVATE KEY")
    return secrets


def linking_job(store: ObjectStore, link: str, host_dir: Path) -> dict[str, object]:
    store.put_bytes(f"{BUCKET}/code/abc/script.py", b"unused")
    store.put_bytes(f"{BUCKET}/raw/numbers.txt", b"1\n2\n")
    arguments = processing_arguments(
        ContainerEntrypoint=["python3", "-c", LINK], ContainerArguments=["/opt/ml/processing/output/result"]
    )
    arguments["Environment"] = {"LINK": link, "HOST_DIR": str(host_dir)}
    return arguments


@pytest.mark.parametrize(
    ("link", "named"),
    [("out", "/opt/ml/processing/output/result"), ("file-out", "/opt/ml/processing/output/result/keys")],
)
def test_an_output_linked_out_of_the_job_directory_fails_the_step_and_uploads_nothing(
    tmp_path: Path, host_dir: Path, link: str, named: str
) -> None:
    store = ObjectStore(tmp_path / "store")
    context = make_context(tmp_path, store, Registry(tmp_path / "r.sqlite"), "Processing",
                           linking_job(store, link, host_dir))  # fmt: skip
    with pytest.raises(StepFailed) as caught:
        STEP_TYPES["Processing"].executor.run(context)
    target = str(host_dir) if link == "out" else str(host_dir / "id_secret")
    assert str(caught.value) == (
        f"output result: {named} is a symbolic link to {target}, outside the job's directory: a job's outputs are "
        "uploaded from its own directory only (links that stay inside it are followed)"
    )
    assert store.list(f"{BUCKET}/exec/") == []
    assert all(b"PRIVATE KEY" not in store.get_bytes(uri) for uri in store.list(f"{BUCKET}/"))


def test_links_that_stay_inside_the_job_directory_are_followed(tmp_path: Path, host_dir: Path) -> None:
    store = ObjectStore(tmp_path / "store")
    context = make_context(tmp_path, store, Registry(tmp_path / "r.sqlite"), "Processing",
                           linking_job(store, "inside", host_dir))  # fmt: skip
    STEP_TYPES["Processing"].executor.run(context)
    assert store.list(f"{BUCKET}/exec/result/") == [
        f"{BUCKET}/exec/result/alias.txt", f"{BUCKET}/exec/result/data.txt", f"{BUCKET}/exec/result/inputs/numbers.txt"
    ]  # fmt: skip
    assert store.get_bytes(f"{BUCKET}/exec/result/alias.txt") == b"mine"


def test_a_model_directory_linked_out_of_the_job_directory_is_not_archived(tmp_path: Path, host_dir: Path) -> None:
    """/opt/ml/model (and /opt/ml/output/data) become model.tar.gz (output.tar.gz) for the upload: the same rule."""
    store = ObjectStore(tmp_path / "store")
    context = make_context(tmp_path, store, Registry(tmp_path / "r.sqlite"), "Training", {})
    (context.work_dir / "model").symlink_to(host_dir)
    with pytest.raises(StepFailed, match=f"AlgorithmError: /opt/ml/model: /opt/ml/model is a symbolic link to "
                                         f"{host_dir}, outside the job's directory"):  # fmt: skip
        user_code.archives(context)
    assert not (context.work_dir / "archives").exists()


def test_job_files_does_not_loop_on_a_link_to_a_folder_above(tmp_path: Path) -> None:
    job = tmp_path / "job"
    (job / "out" / "sub").mkdir(parents=True)
    (job / "out" / "sub" / "a.txt").write_text("a")
    (job / "out" / "sub" / "up").symlink_to("..")
    assert sorted(job_files(job / "out", job)) == ["sub/a.txt"]
    (job / "out" / "gone").symlink_to("nowhere")  # names nothing: skipped
    (job / "out" / "far").symlink_to("/etc")
    with pytest.raises(StoreError, match="^out/far is a symbolic link to /etc, outside"):
        job_files(job / "out", job)
