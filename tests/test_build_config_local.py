"""build_config_file.py --local: the same look-up and config building against the local registry as against AWS."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from showcase.cli.build_config import main
from showcase.errors import NoApprovedPackage, UsageError
from showcase.registry import Registry
from tests.conftest import ACCOUNT, REGION, REPO, ROLE_ARN
from tests.test_build_config import GROUP, MIXED, SHIPPED_CONFIG

SCRIPT = REPO / "deploy" / "build_config_file.py"


def local_packages(home: Path, statuses: list[str]) -> list[str]:
    """The same group and versions as tests.test_build_config.make_packages, in the local registry."""
    registry = Registry(home / "registry.sqlite", region=REGION, account=ACCOUNT)
    return [
        registry.create_model_package(ModelPackageGroupName=GROUP, ModelApprovalStatus=status)["ModelPackageArn"]
        for status in statuses
    ]


def moto_packages(statuses: list[str]) -> list[str]:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return [
        sagemaker.create_model_package(ModelPackageGroupName=GROUP, ModelApprovalStatus=status)["ModelPackageArn"]
        for status in statuses
    ]


def flags(out: Path, *extra: str) -> list[str]:
    return [
        "--model-execution-role",
        ROLE_ARN,
        "--model-package-group-name",
        GROUP,
        "--import-endpoint-config",
        str(SHIPPED_CONFIG),
        "--export-endpoint-config",
        str(out),
        *extra,
    ]


@pytest.fixture()
def local_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOWCASE_REGION", REGION)
    monkeypatch.setenv("SHOWCASE_ACCOUNT", ACCOUNT)


@pytest.mark.usefixtures("local_env")
def test_local_and_aws_registries_give_the_same_file(aws_env: dict[str, str], tmp_path: Path) -> None:
    aws_arns = moto_packages(MIXED)
    local_arns = local_packages(tmp_path / "home", MIXED)
    assert local_arns == aws_arns, "same groups, versions, region and account: the same ARNs"

    assert main(flags(tmp_path / "aws.json", "--region", REGION)) == 0
    assert main(flags(tmp_path / "local.json", "--local", "--home", str(tmp_path / "home"))) == 0

    assert (tmp_path / "local.json").read_bytes() == (tmp_path / "aws.json").read_bytes()
    assert f'"ModelPackageName": "{aws_arns[5]}"' in (tmp_path / "local.json").read_text()


@pytest.mark.usefixtures("local_env")
def test_local_follows_approvals_made_after_registration(tmp_path: Path) -> None:
    arns = local_packages(tmp_path / "home", ["Approved", "PendingManualApproval"])
    Registry(tmp_path / "home" / "registry.sqlite", region=REGION, account=ACCOUNT).update_model_package(
        ModelPackageArn=arns[1], ModelApprovalStatus="Approved"
    )
    assert main(flags(tmp_path / "out.json", "--local", "--home", str(tmp_path / "home"))) == 0
    assert arns[1] in (tmp_path / "out.json").read_text()


def test_local_without_an_approved_package_writes_nothing(tmp_path: Path) -> None:
    local_packages(tmp_path / "home", ["Rejected", "PendingManualApproval"])
    with pytest.raises(NoApprovedPackage, match=f"model package group '{GROUP}' has no Approved model package"):
        main(flags(tmp_path / "out.json", "--local", "--home", str(tmp_path / "home")))
    assert not (tmp_path / "out.json").exists()


def test_local_without_a_registry_creates_none(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no model registry at .*registry.sqlite"):
        main(flags(tmp_path / "out.json", "--local", "--home", str(tmp_path / "home")))
    assert sorted(path.name for path in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--home", "somewhere"], "--home applies to the local registry: add --local"),
        (
            ["--local", "--region", REGION],
            "--region applies to SageMaker; the local registry's ARNs use SHOWCASE_REGION",
        ),
    ],
)
def test_flags_of_the_other_mode_are_refused(tmp_path: Path, extra: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        main(flags(tmp_path / "out.json", *extra))
    assert not (tmp_path / "out.json").exists()


def run_script(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "SHOWCASE_HOME": str(home)}  # no AWS_* at all: nothing may reach for AWS
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_the_script_deploys_from_the_local_registry_without_aws(tmp_path: Path) -> None:
    home = tmp_path / "home"
    arns = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved"
    )
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")
    args = ["--local", "--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP]

    result = run_script(args, home, tmp_path)

    assert result.returncode == 0, result.stderr
    assert arns["ModelPackageArn"] in (tmp_path / "endpoint_config_adj.json").read_text()


def test_the_script_without_an_approved_local_package_fails_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Registry(home / "registry.sqlite").create_model_package(ModelPackageGroupName=GROUP)
    shutil.copy(SHIPPED_CONFIG, tmp_path / "endpoint_config.json")
    args = ["--local", "--model-execution-role", ROLE_ARN, "--model-package-group-name", GROUP]

    result = run_script(args, home, tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: model package group {GROUP!r} has no Approved model package; "
        "run the pipeline, or approve a package, then try again"
    ]
    assert not (tmp_path / "endpoint_config_adj.json").exists()


@pytest.mark.usefixtures("local_env")
def test_a_pinned_package_is_deployed_instead_of_the_newest_on_aws_and_locally(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    """Production deploys the package staging tested, even once a newer one is Approved."""
    aws_arns = moto_packages(["Approved", "Approved", "Rejected"])
    local_arns = local_packages(tmp_path / "home", ["Approved", "Approved", "Rejected"])
    pinned = ["--model-package-arn", aws_arns[0]]
    assert main(flags(tmp_path / "aws.json", "--region", REGION, *pinned)) == 0
    assert main(flags(tmp_path / "local.json", "--local", "--home", str(tmp_path / "home"), *pinned)) == 0
    assert (tmp_path / "local.json").read_bytes() == (tmp_path / "aws.json").read_bytes()
    assert f'"ModelPackageName": "{local_arns[0]}"' in (tmp_path / "aws.json").read_text()

    with pytest.raises(UsageError, match=f"--model-package-arn {re.escape(aws_arns[2])} is Rejected, not Approved"):
        main(flags(tmp_path / "rejected.json", "--region", REGION, "--model-package-arn", aws_arns[2]))
    other = local_arns[0].replace(GROUP.lower(), "othergroup")
    Registry(tmp_path / "home" / "registry.sqlite", region=REGION, account=ACCOUNT).create_model_package(
        ModelPackageGroupName="OtherGroup", ModelApprovalStatus="Approved"
    )
    with pytest.raises(UsageError, match=f"is a package of group 'OtherGroup', not of '{GROUP}'"):
        main(flags(tmp_path / "other.json", "--local", "--home", str(tmp_path / "home"), "--model-package-arn", other))
    assert not (tmp_path / "rejected.json").exists() and not (tmp_path / "other.json").exists()
