"""``showcase registry`` run as a real process (through ``showcase-registry``'s module, the same command): listing,
describing, approving, rejecting and every error path."""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from showcase.errors import UsageError
from showcase.registry import Registry
from showcase.settings import load
from tests.conftest import REPO

GROUP = "abalone"
ARN = "arn:aws:sagemaker:us-east-1:000000000000:model-package/abalone/{}"
LINEAGE = {
    "PipelineName": "P",
    "PipelineExecutionId": "exec12345678",
    "StepName": "Register",
    "Parameters": {"SplitSeed": 42},
    "Artifacts": [{"Field": "ModelDataUrl", "Uri": "s3://b/model.tar.gz", "Sha256": "ab" * 32}],
    "Steps": [
        {
            "Name": "Prep",
            "Type": "Processing",
            "Status": "Succeeded",
            "Inputs": [{"Field": "F", "Uri": "/data/abalone.data", "Sha256": "cd" * 32}],
            "Code": [{"Field": "G", "Uri": "s3://b/code/prep.py", "Sha256": "ef" * 32}],
        }
    ],
}


def mse_metrics(mse: float) -> dict[str, object]:
    return {"regression_metrics": {"mse": {"value": mse, "standard_deviation": 1.5}, "r2": {"value": 0.5}}}


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """Versions 1 (Approved, mse 5.5), 2 (PendingManualApproval, no metrics), 3 (Rejected, mse 7.25); group other/1."""
    registry = Registry(load(tmp_path).registry_path)
    registry.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        ModelPackageDescription="first",
        InferenceSpecification={"Containers": [{"Image": "xgboost:3", "ModelDataUrl": "s3://b/model.tar.gz"}]},
        metrics=mse_metrics(5.5),
        lineage=LINEAGE,
    )
    registry.create_model_package(ModelPackageGroupName=GROUP)
    registry.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Rejected", metrics=mse_metrics(7.25)
    )
    registry.create_model_package(ModelPackageGroupName="other")
    return tmp_path


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    return subprocess.run(
        [sys.executable, "-m", "showcase.cli.registry", "--home", str(home), *args],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, pattern: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


def columns(line: str) -> list[str]:
    """A table row's cells: columns are two or more spaces apart (a time holds one)."""
    return re.split(r"\s{2,}", line.strip())


def status_of(home: Path, version: int) -> tuple[str, str | None]:
    described = Registry(load(home).registry_path).describe_model_package(ModelPackageName=f"{GROUP}/{version}")
    return described["ModelApprovalStatus"], described.get("ApprovalDescription")


# -- reading --------------------------------------------------------------------------------------------------


def test_groups_lists_each_group_with_its_counts(home: Path) -> None:
    result = cli(home, "groups")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert columns(lines[0]) == ["GROUP", "CREATED", "PACKAGES", "APPROVED"]
    assert [columns(line)[0::2] for line in lines[1:]] == [[GROUP, "3"], ["other", "1"]]
    assert [columns(line)[3] for line in lines[1:]] == ["1", "0"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", columns(line)[1]) for line in lines[1:])  # local time


def test_groups_counts_every_package_beyond_the_first_page(tmp_path: Path) -> None:
    """ListModelPackages answers at most 100 a page: the counts must follow NextToken, as the dashboard's do."""
    registry = Registry(load(tmp_path).registry_path)
    for index in range(103):
        registry.create_model_package(
            ModelPackageGroupName="big", ModelApprovalStatus="Approved" if index % 2 else "Rejected"
        )
    from showcase.cli.registry_view import group_rows

    groups = registry.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [row[0::2] + row[3:] for row in group_rows(registry, groups)] == [["big", "103", "51"]]


def test_list_shows_packages_newest_first_with_mse(home: Path) -> None:
    result = cli(home, "list", "--group", GROUP)
    assert result.returncode == 0, result.stderr
    rows = [columns(line) for line in result.stdout.splitlines()[1:]]
    assert [(row[0], row[1], row[3], row[4]) for row in rows] == [
        (f"{GROUP}/3", "Rejected", "7.2500", ARN.format(3)),
        (f"{GROUP}/2", "PendingManualApproval", "-", ARN.format(2)),
        (f"{GROUP}/1", "Approved", "5.5000", ARN.format(1)),
    ]


def test_list_filters_by_status_in_any_case_and_stops_at_max(home: Path) -> None:
    approved = cli(home, "list", "--status", "approved")
    assert [line.split()[0] for line in approved.stdout.splitlines()[1:]] == [f"{GROUP}/1"]
    newest = cli(home, "list", "--max", "2")
    assert [line.split()[0] for line in newest.stdout.splitlines()[1:]] == ["other/1", f"{GROUP}/3"]
    nothing = cli(home, "list", "--group", "other", "--status", "Rejected")
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "no model packages\n")


def test_describe_shows_fields_metrics_and_lineage(home: Path) -> None:
    by_arn = cli(home, "describe", ARN.format(1))
    by_version = cli(home, "describe", f"{GROUP}/1")
    assert by_arn.returncode == 0, by_arn.stderr
    assert by_arn.stdout == by_version.stdout
    text = by_arn.stdout
    assert re.search(r"^ModelApprovalStatus\s+Approved$", text, re.M)
    assert re.search(r"^ModelPackageDescription\s+first$", text, re.M)
    assert re.search(r"^Containers\[0\]\.ModelDataUrl\s+s3://b/model.tar.gz$", text, re.M)
    assert re.search(r"^  regression_metrics\s+mse\s+5.5\s+1.5$", text, re.M)
    assert re.search(r"^  regression_metrics\s+r2\s+0.5\s+-$", text, re.M)
    assert "PipelineExecutionId  exec12345678" in text
    assert "Parameters  SplitSeed=42" in text
    assert f"Input  /data/abalone.data  sha256 {'cd' * 32}" in text
    assert f"Code  s3://b/code/prep.py  sha256 {'ef' * 32}" in text


def test_describe_json_is_one_document(home: Path) -> None:
    result = cli(home, "describe", f"{GROUP}/2", "--json")
    document = json.loads(result.stdout)
    assert document["ModelPackageArn"] == ARN.format(2)
    assert document["Metrics"] is None and document["Lineage"] is None
    created = datetime.fromisoformat(document["CreationTime"])
    assert created.utcoffset() == datetime.now().astimezone().utcoffset()  # local time, with its offset


def test_list_and_groups_json_are_sagemakers_answers(home: Path) -> None:
    listed = json.loads(cli(home, "list", "--group", GROUP, "--json").stdout)
    summaries = listed["ModelPackageSummaryList"]
    assert [s["ModelPackageArn"] for s in summaries] == [ARN.format(v) for v in (3, 2, 1)]
    assert {"ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus", "CreationTime"} <= set(summaries[0])
    groups = json.loads(cli(home, "groups", "--json").stdout)["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [GROUP, "other"]
    decided = json.loads(cli(home, "reject", f"{GROUP}/2", "--json").stdout)
    assert decided == {"ModelPackageArn": ARN.format(2), "ModelApprovalStatus": "Rejected", "Changed": True}


# -- deciding -------------------------------------------------------------------------------------------------


def test_approve_and_reject_change_the_status_with_a_reason(home: Path) -> None:
    approved = cli(home, "approve", f"{GROUP}/2", "--description", "checked by hand")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout == f"{ARN.format(2)}: PendingManualApproval -> Approved\n"
    assert status_of(home, 2) == ("Approved", "checked by hand")

    rejected = cli(home, "reject", ARN.format(2))
    assert rejected.stdout == f"{ARN.format(2)}: Approved -> Rejected\n"
    assert status_of(home, 2) == ("Rejected", ""), "the approval's reason does not stay on the rejection"


def test_setting_the_same_status_changes_nothing(home: Path) -> None:
    before = Registry(load(home).registry_path).describe_model_package(ModelPackageName=f"{GROUP}/1")
    result = cli(home, "approve", f"{GROUP}/1", "--description", "again")
    assert result.returncode == 0
    assert result.stdout == f"{ARN.format(1)} is already Approved; nothing changed\n"
    after = Registry(load(home).registry_path).describe_model_package(ModelPackageName=f"{GROUP}/1")
    assert after == before


def test_approving_a_rejected_package_needs_force(home: Path) -> None:
    refused = cli(home, "approve", f"{GROUP}/3")
    one_line_error(refused, 2, re.escape(f"error: {ARN.format(3)} was Rejected; pass --force to approve it anyway"))
    assert status_of(home, 3) == ("Rejected", None)

    forced = cli(home, "approve", f"{GROUP}/3", "--force", "--description", "re-evaluated")
    assert forced.returncode == 0, forced.stderr
    assert status_of(home, 3) == ("Approved", "re-evaluated")


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["describe", f"{GROUP}/9"], 1, f"^error: model package {GROUP}/9 does not exist$"),
        (["approve", "no-such-group/1"], 1, "^error: model package no-such-group/1 does not exist$"),
        (["reject", "abalone"], 1, r"^error: expected a model package ARN or '<group>/<version>', got 'abalone'$"),
        (
            ["approve", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/abalone/1"],
            1,
            "belongs to eu-west-1/123456789012; this registry is us-east-1/000000000000$",
        ),
        (["list", "--group", "nope"], 1, "^error: model package group 'nope' does not exist$"),
        (
            ["describe", f"{GROUP}/9223372036854775808"],  # 2^63: beyond SQLite's integers
            1,
            f"^error: model package {GROUP}/9223372036854775808 does not exist: a version is a whole number from 1 "
            "to 999,999,999$",
        ),
        (
            ["approve", ARN.format(10**30)],
            1,
            r"^error: model package arn:.*/1000000000000000000000000000000 does not e",
        ),
        (["reject", f"{GROUP}/{'9' * 5000}"], 1, rf"^error: model package {GROUP}/9+\.\.\. does not exist: a"),
        (["describe", f"{GROUP}/0"], 1, f"^error: model package {GROUP}/0 does not exist: a version is a whole"),
        (["list", "--status", "Deployed"], 2, "argument --status: expected one of PendingManualApproval, Approved"),
        (["list", "--max", "0"], 2, "argument --max: expected a whole number of at least 1, got '0'"),
        (["approve"], 2, "the following arguments are required: PACKAGE"),
        (["--busy-timeout", "0", "groups"], 2, "argument --busy-timeout: expected a number of seconds above 0"),
        (["remove", f"{GROUP}/1"], 2, "invalid choice: 'remove'"),
    ],
)
def test_user_errors_are_one_line_and_change_nothing(home: Path, args: list[str], code: int, message: str) -> None:
    before = (home / "registry.sqlite").read_bytes()
    one_line_error(cli(home, *args), code, message)
    assert [status_of(home, version)[0] for version in (1, 2, 3)] == ["Approved", "PendingManualApproval", "Rejected"]
    assert (home / "registry.sqlite").read_bytes() == before


def test_a_home_without_a_registry_lists_nothing_and_creates_nothing(tmp_path: Path) -> None:
    for command in ("list", "groups"):
        result = cli(tmp_path / "empty", command)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    one_line_error(
        cli(tmp_path / "empty", "describe", f"{GROUP}/1"),
        1,
        rf"^error: model package {GROUP}/1 does not exist: there is no model registry at .*empty/registry.sqlite",
    )
    one_line_error(cli(tmp_path / "empty", "list", "--group", "g"), 1, "^error: model package group 'g' does not exist")
    assert not (tmp_path / "empty").exists()


def test_region_and_account_come_from_the_settings(home: Path) -> None:
    other = {"SHOWCASE_REGION": "eu-west-1", "SHOWCASE_ACCOUNT": "123456789012"}
    # ARNs stored at registration keep their region; an ARN lookup checks it against this registry's.
    one_line_error(cli(home, "describe", ARN.format(1), env=other), 1, "this registry is eu-west-1/123456789012$")
    one_line_error(cli(home, "list", env={"SHOWCASE_REGION": "Mars"}), 2, "^error: SHOWCASE_REGION must look like")
    one_line_error(cli(home, "list", env={"SHOWCASE_ACCOUNT": "12"}), 2, "^error: SHOWCASE_ACCOUNT must look like")


def test_settings_region_and_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SHOWCASE_REGION", "SHOWCASE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    assert (load(tmp_path).region, load(tmp_path).account) == ("us-east-1", "000000000000")
    monkeypatch.setenv("SHOWCASE_REGION", "ap-southeast-2")
    monkeypatch.setenv("SHOWCASE_ACCOUNT", "123456789012")
    assert (load(tmp_path).region, load(tmp_path).account) == ("ap-southeast-2", "123456789012")
    monkeypatch.setenv("SHOWCASE_ACCOUNT", "1234")
    with pytest.raises(UsageError, match=r"SHOWCASE_ACCOUNT must look like '123456789012 \(12 digits\)', got '1234'"):
        load(tmp_path)


# -- another writer -------------------------------------------------------------------------------------------


@pytest.fixture()
def held_lock(home: Path) -> Iterator[sqlite3.Connection]:
    """Another writer in the middle of a transaction on the registry."""
    conn = sqlite3.connect(home / "registry.sqlite", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def test_a_locked_registry_is_reported_after_the_busy_timeout(home: Path, held_lock: sqlite3.Connection) -> None:
    result = cli(home, "--busy-timeout", "0.3", "approve", f"{GROUP}/2")

    path = re.escape(str(load(home).registry_path))
    # A notice when the wait begins, then the error when it ends: each one line.
    notice, error = result.stderr.splitlines()
    assert re.match(rf"^the registry {path} is locked by another writer.*; waiting up to 0.3 s$", notice), notice
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.match(rf"^error: the registry {path} is locked by another writer.*; waited 0.3 s, try again$", error)
    if Path("/proc/locks").is_file():  # Linux tells who holds it
        assert f"(PID {os.getpid()})" in result.stderr
    held_lock.execute("ROLLBACK")
    assert status_of(home, 2) == ("PendingManualApproval", None)


# -- a registry its disk will not keep ------------------------------------------------------------------------


def test_a_registry_file_that_is_not_a_database_is_one_line(home: Path) -> None:
    registry = home / "registry.sqlite"
    registry.write_bytes(b"these bytes are not SQLite's " * 100)
    for args in (["groups"], ["approve", f"{GROUP}/1"]):
        one_line_error(
            cli(home, *args),
            1,
            rf"^error: the model registry {re.escape(str(registry))} cannot be opened: file is not a database "
            r"\(it is damaged or another kind of file: move it aside",
        )


@functools.cache
def mount_namespaces() -> bool:
    """Whether this host lets a process mount in a namespace of its own (a user namespace when not root)."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    return in_mount_namespace("mount -t tmpfs none /mnt").returncode == 0


def in_mount_namespace(script: str) -> subprocess.CompletedProcess[str]:
    """``sh -c script`` in a private mount namespace: its mounts are real, seen by it alone, gone when it ends."""
    user = [] if os.getuid() == 0 else ["--map-root-user"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    return subprocess.run(
        ["unshare", *user, "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=REPO,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


needs_namespaces = pytest.mark.skipif(not mount_namespaces(), reason="needs mount namespaces (Linux, unshare)")


@needs_namespaces
def test_a_registry_on_a_read_only_mount_is_one_line(home: Path) -> None:
    before = (home / "registry.sqlite").read_bytes()
    where, python = shlex.quote(str(home)), shlex.quote(sys.executable)
    for args in ("groups", f"approve {GROUP}/1"):
        result = in_mount_namespace(
            f"mount --bind {where} {where} && mount -o remount,bind,ro {where} && "
            f"exec {python} -m showcase.cli.registry --home {where} {args}"
        )
        one_line_error(
            result,
            1,
            rf"^error: the model registry {re.escape(str(home))}/registry.sqlite cannot be opened: "
            r"(unable to open database file|attempt to write a readonly database) \(",
        )
    assert (home / "registry.sqlite").read_bytes() == before


@needs_namespaces
def test_a_registry_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    disk, python = tmp_path / "disk", shlex.quote(sys.executable)
    disk.mkdir()
    where = shlex.quote(str(disk))
    register = f"from showcase.registry import Registry; Registry('{disk}/registry.sqlite').create_model_package("
    register += f"ModelPackageGroupName='{GROUP}')"
    result = in_mount_namespace(
        f"mount -t tmpfs -o size=256k none {where} && {python} -c {shlex.quote(register)} && "
        f"(dd if=/dev/zero of={where}/filler bs=4k 2>/dev/null; true) && "
        f"exec {python} -m showcase.cli.registry --home {where} approve {GROUP}/1"
    )
    one_line_error(
        result,
        1,
        rf"^error: the model registry {re.escape(str(disk))}/registry.sqlite cannot be (opened|written): "
        r"(database or disk is full|disk I/O error) \(",
    )
