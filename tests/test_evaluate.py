"""The evaluation script: metrics from a real model, and refusal of archives it must not trust."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost

from showcase import evaluate
from showcase.evaluate import EvaluationError, load_booster, regression_metrics

SCRIPT = Path(evaluate.__file__)


def write_archive(path: Path, members: dict[str, bytes], symlink: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)


def trained_model_bytes(rows: np.ndarray) -> bytes:
    booster = xgboost.train(
        {"objective": "reg:squarederror", "seed": 0}, xgboost.DMatrix(rows[:, 1:], label=rows[:, 0]), 10
    )
    return bytes(booster.save_raw("ubj"))


@pytest.fixture()
def data() -> np.ndarray:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 4))
    return np.column_stack([features @ [1.0, 2.0, -1.0, 0.5] + 10, features])


def test_metrics_of_a_real_model(tmp_path: Path, data: np.ndarray) -> None:
    write_archive(tmp_path / "model" / "model.tar.gz", {"xgboost-model": trained_model_bytes(data)})
    (tmp_path / "test").mkdir()
    np.savetxt(tmp_path / "test" / "test.csv", data, delimiter=",")
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--model-dir",
            str(tmp_path / "model"),
            "--test-dir",
            str(tmp_path / "test"),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    metrics = report["regression_metrics"]
    assert report["test_rows"] == 200
    assert set(metrics) == {"mse", "rmse", "mae", "r2"}
    assert metrics["rmse"]["value"] == pytest.approx(metrics["mse"]["value"] ** 0.5)
    assert 0.5 < metrics["r2"]["value"] <= 1.0
    assert metrics["mse"]["standard_deviation"] >= 0
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 3 and page.count("<circle") == 200
    assert f"{metrics['mse']['value']:.4f}" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page and " src=" not in page


def test_evaluation_json_keeps_its_shape(tmp_path: Path, data: np.ndarray) -> None:
    write_archive(tmp_path / "model" / "model.tar.gz", {"xgboost-model": trained_model_bytes(data)})
    (tmp_path / "test").mkdir()
    np.savetxt(tmp_path / "test" / "test.csv", data, delimiter=",")
    argv = ["--model-dir", str(tmp_path / "model"), "--test-dir", str(tmp_path / "test")]
    assert evaluate.main([*argv, "--output-dir", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert set(report) == {"regression_metrics", "test_rows"}
    assert sorted(tmp_path.joinpath("out").iterdir()) == [
        tmp_path / "out" / "evaluation.json",
        tmp_path / "out" / "report.html",
    ]


def test_error_by_ring_count_by_hand() -> None:
    actual = np.array([5.0, 5.0, 7.0, 9.0])
    predicted = np.array([6.0, 4.0, 7.5, 9.0])
    assert evaluate.error_by_rings(actual, predicted) == [(5, 2, 1.0), (7, 1, 0.5), (9, 1, 0.0)]


def test_ticks_are_round_and_cover_the_range() -> None:
    assert evaluate._ticks(0, 20) == [0, 5, 10, 15, 20]
    assert evaluate._ticks(-1.2, 1.3) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert evaluate._ticks(3, 3) == [3.0]


def test_plots_survive_degenerate_predictions() -> None:
    """A constant model (every prediction equal) and one ring count still draw, without dividing by zero."""
    actual = np.array([8.0, 8.0, 8.0])
    page = evaluate.report_html(actual, np.full(3, 8.0), regression_metrics(actual, np.full(3, 8.0)))
    assert page.count("<svg") == 3 and "nan" not in page


def test_regression_metrics_by_hand() -> None:
    metrics = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 3.0, 2.0]))
    assert metrics["mse"]["value"] == pytest.approx(5 / 4)
    assert metrics["mae"]["value"] == pytest.approx(3 / 4)
    assert metrics["r2"]["value"] == pytest.approx(1 - 5 / 5)
    assert metrics["mse"]["standard_deviation"] == pytest.approx(np.std([0, 1, 0, 4]))


@pytest.mark.parametrize(
    ("members", "symlink", "message"),
    [
        ({"other-file": b"x"}, None, "holds no xgboost-model"),
        ({"xgboost-model": b"not a model"}, None, "XGBoost cannot load xgboost-model"),
        ({}, "xgboost-model", "xgboost-model in model.tar.gz is not a regular file"),
    ],
)
def test_untrustworthy_archives_are_refused(
    tmp_path: Path, members: dict[str, bytes], symlink: str | None, message: str
) -> None:
    write_archive(tmp_path / "model.tar.gz", members, symlink)
    with pytest.raises(EvaluationError, match=message):
        load_booster(tmp_path)


def test_a_corrupt_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(EvaluationError, match="not a readable tar.gz archive"):
        load_booster(tmp_path)


def test_no_archive_or_two(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="expected one model archive .* found 0"):
        load_booster(tmp_path)
    for name in ("a.tar.gz", "b.tar.gz"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(EvaluationError, match="found 2"):
        load_booster(tmp_path)


def test_a_model_larger_than_the_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_archive(tmp_path / "model.tar.gz", {"xgboost-model": bytes(2048)})
    monkeypatch.setattr(evaluate, "MAX_MODEL_BYTES", 1024)
    with pytest.raises(EvaluationError, match="xgboost-model in model.tar.gz is 2,048 bytes, more than 1,024"):
        load_booster(tmp_path)


def test_the_scatter_draws_a_fixed_sample_of_a_large_test_set() -> None:
    actual = np.arange(50_000, dtype=float) % 29
    predicted = actual + 0.5
    first, second = evaluate.scatter_svg(actual, predicted), evaluate.scatter_svg(actual, predicted)
    assert first == second and first.count("<circle") == evaluate.MAX_SCATTER_POINTS
    page = evaluate.report_html(actual, predicted, evaluate.regression_metrics(actual, predicted))
    assert f"({evaluate.MAX_SCATTER_POINTS:,} of 50,000 rows, at random)" in page
    assert "<p>50000 test rows.</p>" in page
