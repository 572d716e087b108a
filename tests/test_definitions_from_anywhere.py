"""`showcase-local start --definition` for a definition built elsewhere: its objects are given, or all named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from showcase.cli.aliases import local as entry
from showcase.settings import load
from showcase.store import ObjectStore

IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CODE = "s3://their-code/pipelines/sum.py"
DATA = "s3://their-data/numbers"
SUM = """\
import pathlib, sys
numbers = [int(n) for p in sorted(pathlib.Path("/opt/ml/processing/input/data").glob("*.txt"))
           for n in p.read_text().split()]
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "sum.txt").write_text(str(sum(numbers)))
"""


def step(name: str, code: str, data: Any, out: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/sum.py"],
                "ContainerArguments": ["/opt/ml/processing/output"],
            },
            "ProcessingInputs": [
                {"InputName": "code", "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/input/code"}},
                {"InputName": "data", "S3Input": {"S3Uri": data, "LocalPath": "/opt/ml/processing/input/data"}},
            ],
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": out, "LocalPath": "/opt/ml/processing/output"}}]
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}},
        },
    }


@pytest.fixture()
def definition_file(tmp_path: Path) -> Path:
    """Two steps: the second reads, by a literal URI, what the first writes; only the first's inputs pre-exist."""
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Numbers", "Type": "String", "DefaultValue": DATA}],
        "Steps": [
            step("Sum", CODE, {"Get": "Parameters.Numbers"}, "s3://results/first"),
            {**step("SumAgain", CODE, "s3://results/first", "s3://results/second"), "DependsOn": ["Sum"]},
        ],
    }
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(definition))
    return path


@pytest.fixture()
def local_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "sum.py").write_text(SUM)
    (tmp_path / "numbers").mkdir()
    (tmp_path / "numbers" / "a.txt").write_text("1 2 3")
    (tmp_path / "numbers" / "b.txt").write_text("4")
    return tmp_path / "code" / "sum.py", tmp_path / "numbers"


def test_every_missing_object_is_named_before_anything_runs(
    tmp_path: Path, definition_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert entry(["--home", str(home), "start", "--definition", str(definition_file)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "the definition reads objects the local object store" in line
    assert f"Sum ProcessingInputs[0]: {CODE}" in line and f"Sum ProcessingInputs[1]: {DATA}" in line
    assert "s3://results/first" not in line  # written by Sum during the run
    assert "--upload LOCAL=s3://" in line and "store put" in line
    assert not load(home).executions_root.exists() or not any(load(home).executions_root.iterdir())


def test_objects_given_with_upload_and_store_put_let_it_run(
    tmp_path: Path, definition_file: Path, local_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, numbers = local_files
    home = tmp_path / "home"
    assert entry(["--home", str(home), "store", "put", str(code), CODE]) == 0
    assert capsys.readouterr().out.split() == [CODE]
    upload = f"{numbers}={DATA}"
    status = entry(["--home", str(home), "start", "--definition", str(definition_file), "--upload", upload])
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()  # the run's progress
    store = ObjectStore(load(home).store_root)
    assert store.get_bytes("s3://results/first/sum.txt") == b"10"
    assert store.get_bytes("s3://results/second/sum.txt") == b"10"  # it summed the first step's sum.txt
    assert entry(["--home", str(home), "store", "ls", DATA]) == 0
    assert capsys.readouterr().out.split() == [f"{DATA}/a.txt", f"{DATA}/b.txt"]


def test_a_bad_upload_flag_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert entry(["--home", str(tmp_path), "store", "put", str(tmp_path / "nowhere"), "s3://b/k"]) == 2
    assert (
        capsys.readouterr().err.strip() == f"error: store put {str(tmp_path / 'nowhere')!r}: no such file or directory"
    )
