"""Prepare the UCI Abalone data: check it, encode and scale it, split it 70/15/15 with a seed.

Runs as a SageMaker Processing job on the scikit-learn image, and unchanged in the local runtime.
It imports only what that image has (numpy, pandas; boto3 for s3:// input), and every container
path arrives as an argument. Outputs, each a headerless CSV with the label (rings) first:

    <output-dir>/train/train.csv, validation/validation.csv, test/test.csv
    <output-dir>/metadata/preprocessing.json  (input checksum, row counts, scaler, feature names)

A bad input file stops the job with one line naming the row and column at fault.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

COLUMNS = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
]
NUMERIC = COLUMNS[1:8]
SEXES = ("F", "I", "M")
FEATURES = [*NUMERIC, *(f"sex_{sex}" for sex in SEXES)]
SPLITS = (("train", 0.70), ("validation", 0.15), ("test", 0.15))
MAX_LINE = 1024  # an Abalone row is under 100 characters
_CHUNK = 1 << 20
LOCAL_COPY_HINT = (
    "pass a local copy instead: --parameter InputData=/path/to/abalone.data "
    "(or set SHOWCASE_INPUT_DATA=/path/to/abalone.data)"
)


class DataError(Exception):
    """The input data is unusable; the message says where and why."""


def fetch(uri: str) -> bytes:
    """Read the input from s3://, http(s)://, file:// or a plain path."""
    try:
        if uri.startswith("s3://"):
            import boto3  # only on SageMaker, where the image has it

            bucket, _, key = uri[len("s3://") :].partition("/")
            return read_rows(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"])
        if uri.startswith(("http://", "https://")):
            with urllib.request.urlopen(uri, timeout=30) as response:
                return read_rows(response)
        with Path(uri.removeprefix("file://")).open("rb") as local:
            return read_rows(local)
    except (urllib.error.URLError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot download {uri} ({reason}); {LOCAL_COPY_HINT}") from None
    except FileNotFoundError:
        where = (
            ""
            if Path(uri).is_absolute()
            else " (a relative path is read from the job's directory: give an absolute one)"
        )
        raise DataError(f"input data {uri} does not exist{where}") from None
    except IsADirectoryError:
        raise DataError(f"input data {uri} is a directory; give the data file itself") from None
    except PermissionError:
        raise DataError(f"input data {uri} cannot be read (permission denied)") from None


def read_rows(stream: BinaryIO) -> bytes:
    """Read the whole stream, stopping at the first line longer than MAX_LINE.

    A hostile or wrong file (one enormous line, a binary blob) is refused after one chunk, not after
    reading and decoding all of it: memory stays bounded by what was read of well-formed rows.
    """
    chunks: list[bytes] = []
    row, open_line = 1, 0  # the row being read and the length of its part read so far
    while chunk := stream.read(_CHUNK):
        lines = chunk.split(b"\n")
        lengths = [open_line + len(lines[0]), *map(len, lines[1:])]
        longest = max(lengths)
        if longest > MAX_LINE:
            at = row + next(index for index, length in enumerate(lengths) if length > MAX_LINE)
            raise DataError(
                f"row {at} is longer than {MAX_LINE} characters; an Abalone row has 9 short fields "
                "(is this the right file?)"
            )
        row += len(lines) - 1
        open_line = lengths[-1]
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> pd.DataFrame:
    """Check the raw bytes and return a typed frame, or raise DataError naming the row and column.

    Well-formed data takes pandas' C parser; anything it cannot take, or that fails a check, is
    read again row by row, which finds the first bad cell and names it.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"row {row}: byte {raw[exc.start]:#04x} is not ASCII text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise DataError("the input data is empty: expected 9 comma-separated fields per row, no header")
    if max(map(len, lines)) <= MAX_LINE and all(line.count(",") == len(COLUMNS) - 1 for line in lines):
        frame = _fast_parse(text, len(lines))
        if frame is not None:
            return frame
    return _parse_rows(lines)


def _fast_parse(text: str, rows: int) -> pd.DataFrame | None:
    """The C parser's reading, if every check passes; None sends the caller to the row-by-row path."""
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=COLUMNS,
            dtype={"sex": str, **dict.fromkeys(COLUMNS[1:], float)},
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError):
        return None
    values = frame[COLUMNS[1:]].to_numpy()
    rings = frame["rings"].to_numpy()
    good = (
        len(frame) == rows
        and bool(frame["sex"].isin(SEXES).all())
        and bool(np.isfinite(values).all())
        and bool(((rings >= 0) & (rings == np.round(rings))).all())
    )
    return frame if good else None


def _parse_rows(lines: list[str]) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise DataError(f"row {number} is {len(line)} characters long; an Abalone row has 9 short fields")
        fields = line.rstrip("\r").split(",")
        if len(fields) != len(COLUMNS):
            if line.strip() == "":
                raise DataError(f"row {number} is empty")
            raise DataError(f"row {number} has {len(fields)} fields, expected {len(COLUMNS)} ({', '.join(COLUMNS)})")
        rows.append(fields)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    _check_sex(frame)
    for position, name in enumerate(COLUMNS[1:], start=2):
        frame[name] = _numeric(frame[name], position, name)
    return frame


def _check_sex(frame: pd.DataFrame) -> None:
    bad = ~frame["sex"].isin(SEXES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = frame["sex"].iat[row]
        hint = "; is row 1 a header? the file must have none" if row == 0 else ""
        raise DataError(f"row {row + 1}, column 1 (sex): {value!r} is not one of M, F, I{hint}")


def _numeric(column: pd.Series, position: int, name: str) -> pd.Series:
    values = pd.to_numeric(column.str.strip(), errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = column.iat[row]
        what = "a missing value" if raw.strip().lower() in ("", "nan", "na") else f"{raw!r}, not a finite number"
        raise DataError(f"row {row + 1}, column {position} ({name}): {what}")
    if name == "rings" and ((values < 0) | (values != values.round())).any():
        row = int(np.flatnonzero(((values < 0) | (values != values.round())).to_numpy())[0])
        raise DataError(f"row {row + 1}, column {position} (rings): {column.iat[row]!r} is not a whole ring count")
    return values


def split_indices(rows: int, seed: int) -> dict[str, np.ndarray]:
    """A seeded permutation cut 70/15/15: the same seed and row count give the same split."""
    order = np.random.default_rng(seed).permutation(rows)
    first = round(rows * SPLITS[0][1])
    second = first + round(rows * SPLITS[1][1])
    return {"train": order[:first], "validation": order[first:second], "test": order[second:]}


def transform(frame: pd.DataFrame, parts: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """Scale numeric features with the train split's mean and standard deviation; one-hot encode sex."""
    numeric = frame[NUMERIC].to_numpy(dtype=float)
    mean = numeric[parts["train"]].mean(axis=0)
    scale = numeric[parts["train"]].std(axis=0)
    scale[scale == 0] = 1.0
    one_hot = np.stack([(frame["sex"] == sex).to_numpy(dtype=float) for sex in SEXES], axis=1)
    table = np.column_stack([frame["rings"].to_numpy(dtype=float), (numeric - mean) / scale, one_hot])
    scaler = {
        "features": FEATURES,
        "mean": dict(zip(NUMERIC, mean.tolist(), strict=False)),
        "scale": dict(zip(NUMERIC, scale.tolist(), strict=False)),
    }
    return {name: table[index] for name, index in parts.items()}, scaler


def write_csv(table: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(table).to_csv(path, header=False, index=False, float_format="%.10g")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-data", required=True, help="s3://, https:// URI or local path of abalone.data")
    parser.add_argument("--seed", type=int, default=42, help="seed of the train/validation/test split")
    parser.add_argument("--output-dir", required=True, help="container directory for the outputs")
    args = parser.parse_args(argv)

    try:
        raw = fetch(args.input_data)
        frame = parse(raw)
    except DataError as exc:
        print(f"PrepareData: {exc}", file=sys.stderr)
        return 1
    if len(frame) < 20:
        print(f"PrepareData: only {len(frame)} rows; at least 20 are needed to split 70/15/15", file=sys.stderr)
        return 1

    parts = split_indices(len(frame), args.seed)
    tables, scaler = transform(frame, parts)
    out = Path(args.output_dir)
    for name, table in tables.items():
        write_csv(table, out / name / f"{name}.csv")
    metadata = {
        "input_data": args.input_data,
        "input_sha256": hashlib.sha256(raw).hexdigest(),
        "rows": {"total": len(frame), **{name: len(table) for name, table in tables.items()}},
        "seed": args.seed,
        "label": "rings",
        **scaler,
    }
    (out / "metadata").mkdir(parents=True, exist_ok=True)
    (out / "metadata" / "preprocessing.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"PrepareData: {len(frame)} rows -> " + ", ".join(f"{n} {len(t)}" for n, t in tables.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
