"""The prepare-data script: checks, encoding, scaling and the seeded split, on the real data and bad copies."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase import preprocess
from showcase.preprocess import DataError, parse, split_indices

SCRIPT = Path(preprocess.__file__)
GOOD_ROW = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15"


def run_script(input_data: str, out: Path, seed: int = 42) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--input-data", input_data, "--seed", str(seed), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_data_split_encoding_and_metadata(abalone_path: Path, tmp_path: Path) -> None:
    result = run_script(str(abalone_path), tmp_path)
    assert result.returncode == 0, result.stderr
    tables = {n: pd.read_csv(tmp_path / n / f"{n}.csv", header=None) for n in ("train", "validation", "test")}
    assert {n: len(t) for n, t in tables.items()} == {"train": 2924, "validation": 627, "test": 626}
    for table in tables.values():
        assert table.shape[1] == 11  # rings, 7 scaled measurements, 3 one-hot sex columns
        assert set(np.unique(table.iloc[:, 8:].to_numpy())) <= {0.0, 1.0}
        assert (table.iloc[:, 8:].sum(axis=1) == 1).all()
    train = tables["train"]
    assert np.allclose(train.iloc[:, 1:8].mean(), 0, atol=1e-6)
    assert np.allclose(train.iloc[:, 1:8].std(ddof=0), 1, atol=1e-6)
    # Every row lands in exactly one split: the label multiset is the file's.
    labels = np.sort(np.concatenate([t.iloc[:, 0].to_numpy() for t in tables.values()]))
    original = pd.read_csv(abalone_path, header=None).iloc[:, 8].to_numpy()
    assert np.array_equal(labels, np.sort(original))
    metadata = json.loads((tmp_path / "metadata" / "preprocessing.json").read_text())
    assert metadata["input_sha256"] == "de37cdcdcaaa50c309d514f248f7c2302a5f1f88c168905eba23fe2fbc78449f"
    assert metadata["features"][-3:] == ["sex_F", "sex_I", "sex_M"]
    # The data-quality baseline's input: the train split as the endpoint receives it, the label dropped.
    baseline = pd.read_csv(tmp_path / "baseline" / "train_features.csv", header=None)
    assert baseline.shape == (2924, 10)
    assert np.array_equal(baseline.to_numpy(), train.iloc[:, 1:].to_numpy())


def test_same_seed_same_split_other_seed_other_split(abalone_path: Path, tmp_path: Path) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        assert run_script(str(abalone_path), tmp_path / name, seed=seed).returncode == 0
    test_a, test_b, test_c = ((tmp_path / n / "test" / "test.csv").read_bytes() for n in "abc")
    assert test_a == test_b
    assert test_a != test_c


@given(rows=st.integers(min_value=20, max_value=5000), seed=st.integers(min_value=0, max_value=2**31))
@settings(max_examples=50, deadline=None)
def test_split_is_a_partition_of_70_15_15(rows: int, seed: int) -> None:
    parts = split_indices(rows, seed)
    joined = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(joined, np.arange(rows))
    assert abs(len(parts["train"]) - 0.7 * rows) <= 1
    assert abs(len(parts["validation"]) - 0.15 * rows) <= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the input data is empty"),
        ("Sex,Length,Diameter,Height,Whole,Shucked,Viscera,Shell,Rings\n" + GOOD_ROW, "row 1, column 1 .*header"),
        (f"{GOOD_ROW}\nM,0.455,0.365\n", "row 2 has 3 fields, expected 9"),
        (f"{GOOD_ROW},extra\n", "row 1 has 10 fields"),
        (
            f"{GOOD_ROW}\nX,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n",
            "row 2, column 1 \\(sex\\): 'X' is not one of",
        ),
        (f"{GOOD_ROW}\nM,0.455,abc,0.095,0.514,0.2245,0.101,0.15,15\n", "row 2, column 3 \\(diameter\\): 'abc'"),
        (f"{GOOD_ROW}\nM,0.455,0.365,,0.514,0.2245,0.101,0.15,15\n", "row 2, column 4 \\(height\\): a missing value"),
        (
            f"{GOOD_ROW}\nM,0.455,0.365,NaN,0.514,0.2245,0.101,0.15,15\n",
            "row 2, column 4 \\(height\\): a missing value",
        ),
        (f"{GOOD_ROW}\nM,0.455,0.365,inf,0.514,0.2245,0.101,0.15,15\n", "row 2, column 4 .*not a finite number"),
        (
            f"{GOOD_ROW}\nM,0.455,0.365,0.1,0.514,0.2245,0.101,0.15,9.5\n",
            "row 2, column 9 \\(rings\\).*whole ring count",
        ),
        (f"{GOOD_ROW}\n\n{GOOD_ROW}\n", "row 2 is empty"),
        (f"{GOOD_ROW}\n{'1' * 5000}\n", "row 2 is 5000 characters long"),
    ],
)
def test_bad_data_names_row_and_column(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse(text.encode("ascii"))


def test_non_ascii_bytes_name_the_row() -> None:
    with pytest.raises(DataError, match="row 2: byte 0xff is not ASCII"):
        parse(f"{GOOD_ROW}\nM,0.4\xff".encode("latin-1"))


def test_a_bad_file_fails_the_script_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.data"
    bad.write_text(f"{GOOD_ROW}\nM,0.455,abc,0.095,0.514,0.2245,0.101,0.15,15\n")
    result = run_script(str(bad), tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.strip() == "PrepareData: row 2, column 3 (diameter): 'abc', not a finite number"
    assert not (tmp_path / "out" / "train").exists()


@pytest.mark.parametrize(
    ("input_data", "message"),
    [
        ("/no/such/abalone.data", "input data /no/such/abalone.data does not exist"),
        ("http://127.0.0.1:9/abalone.data", "cannot download http://127.0.0.1:9/abalone.data .*SHOWCASE_INPUT_DATA"),
    ],
)
def test_unreachable_input_says_how_to_pass_a_local_copy(input_data: str, message: str, tmp_path: Path) -> None:
    result = run_script(input_data, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_too_few_rows_to_split(tmp_path: Path) -> None:
    small = tmp_path / "small.data"
    small.write_text((GOOD_ROW + "\n") * 5)
    result = run_script(str(small), tmp_path / "out")
    assert result.returncode == 1
    assert "only 5 rows" in result.stderr


# The split files for the bundled Abalone data with seed 42, as every earlier version of this script wrote
# them (sha256 of each file): a faster writer must not change a byte, so the same seed keeps giving the same
# split and the same model.
SPLIT_SHA256_SEED_42 = {
    "train": "9701578097b9290329280acf2e2425bb695314d7090bbce2e4eb3670cf45bb4b",
    "validation": "c48577aaf16aad03a42ac04863c41ef8af9c2898ded2509acd83892148e03064",
    "test": "b1aabeca2d26306f5a8d9193e47753e1de41f50be0761c36c555facfe0670227",
}


def test_the_split_files_are_byte_for_byte_what_earlier_versions_wrote(abalone_path: Path, tmp_path: Path) -> None:
    assert preprocess.main(["--input-data", str(abalone_path), "--seed", "42", "--output-dir", str(tmp_path)]) == 0
    written = {n: hashlib.sha256((tmp_path / n / f"{n}.csv").read_bytes()).hexdigest() for n in SPLIT_SHA256_SEED_42}
    assert written == SPLIT_SHA256_SEED_42


def test_pieces_read_as_one_and_a_bad_row_is_named_by_its_row_in_the_file(
    abalone_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = abalone_path.read_bytes()
    whole = parse(raw)
    monkeypatch.setattr(preprocess, "_PIECE", 1000)  # about 25 rows a piece
    pieces = parse(raw)
    assert np.array_equal(pieces.values, whole.values) and np.array_equal(pieces.sex, whole.sex)
    lines = raw.decode("ascii").splitlines()
    lines[3000] = lines[3000].replace(",", ",x", 1)
    with pytest.raises(DataError, match=r"^row 3001, column 2 \(length\): 'x"):
        parse(("\n".join(lines) + "\n").encode("ascii"))
    lines[3000] = ""
    with pytest.raises(DataError, match=r"^row 3001 is empty"):
        parse(("\n".join(lines)).encode("ascii"))


def python_rows(values: np.ndarray, tails: np.ndarray) -> bytes:
    """What ``"%.10g,"`` for each field, then the tail, writes: the formatting earlier versions used."""
    return "".join(
        "".join("%.10g," % value for value in row) + bytes(tail.tolist()).decode("ascii")  # noqa: UP031
        for row, tail in zip(values.tolist(), tails, strict=True)
    ).encode("ascii")


FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-20, 20),
    st.floats(-1e-3, 1e-3),
    st.integers(-(10**11), 10**11).map(float),
    # halves at the 11th significant digit, and their neighbours: where rounding to 10 digits is closest to a tie
    st.tuples(st.integers(10**9, 10**10 - 1), st.integers(-14, 3), st.sampled_from([-1, 0, 1])).map(
        lambda t: (
            float(np.nextafter((t[0] + 0.5) * 10.0 ** t[1], np.inf * t[2])) if t[2] else (t[0] + 0.5) * 10.0 ** t[1]
        )
    ),
    st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 9.9999999995e-5, 1e10, 9999999999.5, 9999999999.4, 0.5, 1.0]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(FLOATS, min_size=3, max_size=3), min_size=1, max_size=40))
def test_the_vectorised_writer_formats_as_percent_10g(rows: list[list[float]]) -> None:
    values = np.array(rows, dtype=np.float64)
    tails = preprocess._ONE_HOT[np.arange(len(rows)) % 3]
    whole, features = preprocess.format_rows(values, tails)
    assert whole == python_rows(values, tails)
    assert features == python_rows(values[:, 1:], tails)


def test_the_vectorised_writer_on_a_million_scaled_values() -> None:
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.integers(0, 30, 100_000).astype(float), rng.normal(size=(100_000, 9)) * 3])
    values[::1000, 1] = 0.0
    values[::777, 2] *= 1e-5
    tails = preprocess._ONE_HOT[rng.integers(0, 3, 100_000)]
    assert preprocess.format_rows(values, tails)[0] == python_rows(values, tails)


def test_splits_written_by_several_processes_are_the_same_bytes(
    abalone_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = parse(abalone_path.read_bytes())
    parts = split_indices(len(table), 7)
    mean, scale = preprocess.scaler(table, parts["train"])
    written = {}
    monkeypatch.setattr(preprocess, "_PARALLEL_FROM", 0)
    for writers in (1, 3):
        out = tmp_path / str(writers)
        outputs = [(rows, out / f"{name}.csv", out / f"{name}_features.csv") for name, rows in parts.items()]
        preprocess.write_splits(table, outputs, mean, scale, writers=writers)
        written[writers] = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    assert written[3] == written[1] and len(written[1]) == 6  # no part file is left behind
    assert sum(text.count(b"\n") for name, text in written[1].items() if "features" not in name) == len(table)
