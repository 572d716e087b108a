"""Prepare the UCI Abalone data: check it, encode and scale it, split it 70/15/15 with a seed.

Runs as a SageMaker Processing job on the scikit-learn image, and unchanged in the local runtime. It imports only
what that image has (numpy, pandas; boto3 for s3:// input); every container path arrives as an argument. It writes
``<output-dir>/{train,validation,test}/<split>.csv`` (headerless CSV, the label, rings, first),
``metadata/preprocessing.json`` (input checksum, row counts, scaler, feature names), ``baseline/train_features.csv``
(the train split's features: what the endpoint receives, the data-quality baseline's data) and, with
``--serving-code``, ``preprocessing_model/model.tar.gz`` (``preprocess_serving.py``). A bad input file stops the
job with one line naming the row and column at fault."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import sys
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

COLUMNS = ["sex", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight",
           "rings"]  # fmt: skip
NUMERIC = COLUMNS[1:8]
SEXES = ("F", "I", "M")
FEATURES = [*NUMERIC, *(f"sex_{sex}" for sex in SEXES)]
SPLITS = (("train", 0.70), ("validation", 0.15), ("test", 0.15))
MAX_LINE = 1024  # an Abalone row is under 100 characters
_CHUNK = 1 << 20  # bytes read from the input at a time
_PIECE = 32 << 20  # bytes of input the C parser reads at a time
_WRITE_ROWS = 100_000  # rows formatted and written at a time
_PARALLEL_FROM = 500_000  # rows from which the splits are written by several processes
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
        hint = " (a relative path is read from the job's directory: give an absolute one)"
        raise DataError(f"input data {uri} does not exist{'' if Path(uri).is_absolute() else hint}") from None
    except IsADirectoryError:
        raise DataError(f"input data {uri} is a directory; give the data file itself") from None
    except PermissionError:
        raise DataError(f"input data {uri} cannot be read (permission denied)") from None


def read_rows(stream: BinaryIO) -> bytes:
    """Read the whole stream, stopping at the first line longer than MAX_LINE: a hostile or wrong file (one enormous
    line, a binary blob) is refused after one chunk, memory bounded by what was read of well-formed rows."""
    chunks: list[bytes] = []
    row, open_line = 1, 0  # the row being read and the length of its part read so far
    while chunk := stream.read(_CHUNK):
        lines = chunk.split(b"\n")
        lengths = [open_line + len(lines[0]), *map(len, lines[1:])]
        if max(lengths) > MAX_LINE:
            at = row + next(index for index, length in enumerate(lengths) if length > MAX_LINE)
            why = "an Abalone row has 9 short fields (is this the right file?)"
            raise DataError(f"row {at} is longer than {MAX_LINE} characters; {why}")
        row += len(lines) - 1
        open_line = lengths[-1]
        chunks.append(chunk)
    return b"".join(chunks)


class Table:
    """The checked input: the seven measurements and rings as float64 columns, sex as codes into SEXES."""

    def __init__(self, values: np.ndarray, sex: np.ndarray) -> None:
        self.values = values  # (rows, 8): NUMERIC, then rings
        self.sex = sex  # (rows,) int8

    def __len__(self) -> int:
        return len(self.sex)


def parse(raw: bytes) -> Table:
    """The typed table, or DataError naming the row and column: pieces of about _PIECE bytes, cut at line ends, are
    read by pandas' C parser into the preallocated columns (no Python object per row or cell); a piece it cannot take,
    or that fails a check, is read again row by row, naming the first bad cell by its row in the whole file."""
    if not raw:
        raise DataError("the input data is empty: expected 9 comma-separated fields per row, no header")
    if not raw.isascii():
        at = int(np.argmax(np.frombuffer(raw, dtype=np.uint8) >= 0x80))
        row = raw.count(b"\n", 0, at) + 1
        raise DataError(f"row {row}: byte {raw[at]:#04x} is not ASCII text")
    rows = raw.count(b"\n") + (not raw.endswith(b"\n"))
    table = Table(np.empty((rows, len(COLUMNS) - 1)), np.empty(rows, dtype=np.int8))
    start, row = 0, 0
    while start < len(raw):
        end = raw.find(b"\n", start + _PIECE)
        end = len(raw) if end < 0 else end + 1
        piece = raw[start:end]
        count = piece.count(b"\n") + (not piece.endswith(b"\n"))
        parsed = _fast_parse(piece, count) or _parse_rows(piece.decode("ascii").split("\n")[:count], row)
        table.values[row : row + count], table.sex[row : row + count] = parsed
        start, row = end, row + count
    return table


def _fast_parse(piece: bytes, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The C parser's reading of one piece, if every cell is good; None sends it to the row-by-row path."""
    dtype = {"sex": pd.CategoricalDtype(SEXES), **dict.fromkeys(COLUMNS[1:], float)}
    try:
        frame = pd.read_csv(io.BytesIO(piece), header=None, names=COLUMNS, dtype=dtype, skip_blank_lines=False)
    except (ValueError, pd.errors.ParserError):
        return None
    values, sex = frame[COLUMNS[1:]].to_numpy(), frame["sex"].cat.codes.to_numpy()
    return (values, sex) if len(frame) == rows and _first_bad(values, sex) is None else None


def _parse_rows(lines: list[str], first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The slow, precise reading: raises DataError at the first bad cell (rows counted from ``first``)."""
    rows = []
    for number, line in enumerate(lines, start=first + 1):
        if len(line) > MAX_LINE:
            raise DataError(f"row {number} is {len(line)} characters long; an Abalone row has 9 short fields")
        fields = line.rstrip("\r").split(",")
        if len(fields) != len(COLUMNS):
            if line.strip() == "":
                raise DataError(f"row {number} is empty")
            raise DataError(f"row {number} has {len(fields)} fields, expected {len(COLUMNS)} ({', '.join(COLUMNS)})")
        rows.append(fields)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    sex = frame["sex"].map({sex: code for code, sex in enumerate(SEXES)}).fillna(-1).to_numpy(dtype=np.int8)
    numbers = [pd.to_numeric(frame[name].str.strip(), errors="coerce").to_numpy(dtype=float) for name in COLUMNS[1:]]
    values = np.column_stack(numbers)
    bad = _first_bad(values, sex)
    if bad is None:
        return values, sex
    row, column = bad[0], min(bad[1], len(COLUMNS) - 1)
    raw, where = frame.iat[row, column], f"row {first + row + 1}, column {column + 1} ({COLUMNS[column]})"
    if bad[1] == 0:
        hint = "; is row 1 a header? the file must have none" if row + first == 0 else ""
        raise DataError(f"{where}: {raw!r} is not one of M, F, I{hint}")
    if bad[1] == len(COLUMNS):
        raise DataError(f"{where}: {raw!r} is not a whole ring count")
    what = "a missing value" if raw.strip().lower() in ("", "nan", "na") else f"{raw!r}, not a finite number"
    raise DataError(f"{where}: {what}")


def _first_bad(values: np.ndarray, sex: np.ndarray) -> tuple[int, int] | None:
    """The first cell, column by column, that is not a value of its column, as ``(row, column)``: column 0 a sex
    not in SEXES, 1-8 a measurement or rings that is not a finite number, 9 rings that is not a whole count."""
    rings = values[:, -1]
    bad = np.column_stack([sex < 0, ~np.isfinite(values), (rings < 0) | (rings != np.round(rings))])
    found = np.flatnonzero(bad.T)
    return None if not found.size else divmod(int(found[0]), len(sex))[::-1]


def split_indices(rows: int, seed: int) -> dict[str, np.ndarray]:
    """A seeded permutation cut 70/15/15: the same seed and row count give the same split."""
    order = np.random.default_rng(seed).permutation(rows)
    first = round(rows * SPLITS[0][1])
    second = first + round(rows * SPLITS[1][1])
    return {"train": order[:first], "validation": order[first:second], "test": order[second:]}


def scaler(table: Table, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The train split's mean and standard deviation of each measurement (a constant one scales by 1)."""
    rows = np.ascontiguousarray(table.values[train, : len(NUMERIC)])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


_CELL = 18  # a value's text (at most 17 characters as %.10g writes a float64) and its separator
_POW10 = 10.0 ** np.arange(23)  # exact doubles
_FIVE_DIGITS = np.zeros((100_000, 8), dtype=np.uint8)  # "00000" .. "99999" and 3 bytes of padding, as uint64
_FIVE_DIGITS[:, :5] = np.frombuffer(b"".join(b"%05d" % number for number in range(100_000)), np.uint8).reshape(-1, 5)
_FIVE_DIGITS_PACKED = _FIVE_DIGITS.view(np.uint64).ravel()
_ONE_HOT = np.array([[ord(c) for c in ",".join("1" if o == s else "0" for o in SEXES) + "\n"] for s in SEXES])


_TEMPLATES = np.full((14, _CELL), ord("0"), dtype=np.uint8)  # per exponent -4..9: a cell less its 10 digits
_TEMPLATES[:, 0], _TEMPLATES[:, -1] = ord("-"), ord(",")
_TEMPLATES[np.arange(14), 2 + np.maximum(np.arange(-4, 10), 0)] = ord(".")  # after the units digit ("0" if e < 0)
_KEEP = (np.arange(_CELL) >= np.arange(2)[:, None, None]) & (np.arange(_CELL) <= np.arange(_CELL)[None, :, None])
_KEEP[:, :, -1] = True  # [first, last]: a cell's characters first..last, and its separator


def format_rows(values: np.ndarray, tails: np.ndarray) -> tuple[bytes, bytes]:
    """Rows of ``values`` (float64) then a tail per row (``tails``: character codes, ending with the newline), as
    ``"%.10g," * columns + tail`` writes them, byte for byte; and the same rows without their first field. Each
    value is rounded to 10 significant digits, ``m`` in [10^9, 10^10), and an exponent ``e``; its cell is
    ``-`` + the digits with a point after the units digit (``0.000`` first when e < 0) + ``,``, and its text runs
    from the sign (if negative) or the first digit to the last nonzero digit (the units digit at least). Values are
    grouped by exponent so that slices fill each group's cells. ``m`` is exact unless the scaled value lies within
    1e-5 of a half; such values, zeros and what %.10g writes in exponent notation are formatted by Python."""
    rows, columns = values.shape
    flat = values.ravel()
    mantissa, exponent, exact = _rounded(flat)
    group = np.where(exact, exponent + 4, 14).astype(np.int8)  # 14: formatted by Python
    order = np.argsort(group, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=15))]).tolist()
    high, low = np.divmod(mantissa[order], 100_000)
    packed = np.stack([_FIVE_DIGITS_PACKED[high], _FIVE_DIGITS_PACKED[low]], axis=1)
    spread = packed.view(np.uint8).reshape(flat.size, 16)
    digits = np.concatenate((spread[:, :5], spread[:, 8:13]), axis=1)
    final = 9 - np.argmax(digits[:, ::-1] != ord("0"), axis=1)  # the index of the last nonzero digit
    first = (flat[order] >= 0).astype(np.intp)  # the first character written: the sign, or the first digit
    cells = np.empty((flat.size, _CELL), dtype=np.uint8)
    kept = np.zeros((flat.size, _CELL), dtype=bool)
    for e in range(-4, 10):
        start, end = bounds[e + 4], bounds[e + 5]
        if start == end:
            continue
        cells[start:end] = _TEMPLATES[e + 4]
        these = digits[start:end]
        if e >= 0:
            cells[start:end, 1 : e + 2] = these[:, : e + 1]
            cells[start:end, e + 3 : 12] = these[:, e + 1 :]
            last = np.where(final[start:end] > e, 2 + final[start:end], 1 + e)  # no fraction: the units digit
        else:
            cells[start:end, 2 - e : 12 - e] = these
            last = 2 - e + final[start:end]
        kept[start:end] = _KEEP[first[start:end], last]
    chars = np.empty((rows, columns + 1, _CELL), dtype=np.uint8)  # the last cell holds the row's tail
    keep = np.empty((rows, columns + 1, _CELL), dtype=bool)
    target = order // columns * (columns + 1) + order % columns
    chars.reshape(-1, _CELL)[target] = cells
    keep.reshape(-1, _CELL)[target] = kept
    for index in order[bounds[14] :].tolist():
        row, column = divmod(index, columns)
        text = np.frombuffer(f"{flat[index]:.10g},".encode("ascii"), dtype=np.uint8)
        chars[row, column, : len(text)] = text
        keep[row, column] = np.arange(_CELL) < len(text)
    chars[:, columns, : tails.shape[1]] = tails
    keep[:, columns] = np.arange(_CELL) < tails.shape[1]
    whole = chars[keep].tobytes()
    keep[:, 0] = False
    return whole, chars[keep].tobytes()


def _rounded(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: its 10 significant digits as an integer, its decimal exponent, and whether this rounding is
    exact and %.10g writes it in fixed notation."""
    magnitude = np.abs(flat)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.floor(np.log10(magnitude))
    exact = np.isfinite(estimate) & (estimate >= -5) & (estimate <= 9)
    exponent = np.where(exact, estimate, 0).astype(np.int64)
    magnitude[~exact] = 1.0  # formatted by Python; keeps the products below finite
    # log10 may be one off near a power of ten, and rounding may carry to 10^10: one correction
    scaled = magnitude * _POW10[9 - exponent]
    mantissa = np.rint(scaled)
    exponent += (mantissa >= 1e10).astype(np.int64) - (mantissa < 1e9)
    exact &= (exponent >= -4) & (exponent <= 9) & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-5)
    exponent[~exact] = 0
    scaled = magnitude * _POW10[9 - exponent]  # one correctly rounded product: 10^k is exact for k <= 22
    mantissa = np.rint(scaled)
    # 10 digits, and the 10th digit's rounding decided by a margin: else Python writes the value
    exact &= (scaled >= 1e9) & (mantissa < 1e10) & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-5)
    return np.where(exact, mantissa, 1e9).astype(np.int64), exponent, exact


Output = tuple[np.ndarray, Path, Path | None]
"""The rows of one split, its file, and where the same rows go without the label (or None)."""


def write_splits(table: Table, outputs: list[Output], mean: np.ndarray, scale: np.ndarray, *, writers: int) -> None:
    """Write every split (``_write_range``), the rows shared among up to ``writers`` forked processes: the rows
    of all the splits, in order, cut into equal ranges, each written to part files joined in order afterwards (the
    same bytes as one process writes). Under _PARALLEL_FROM rows, one process writes everything."""
    total = sum(len(rows) for rows, _, _ in outputs)
    if total < _PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        writers = 1
    cuts = [round(total * worker / writers) for worker in range(writers + 1)]
    targets = [target for _, path, features in outputs for target in (path, features) if target is not None]
    children = [
        multiprocessing.get_context("fork").Process(target=_write_range, args=(table, outputs, mean, scale, worker,
                                                                                cuts[worker], cuts[worker + 1]))
        for worker in range(1, writers)
    ]  # fmt: skip
    try:
        for child in children:
            child.start()
        _write_range(table, outputs, mean, scale, 0, cuts[0], cuts[1])
        for child in children:
            child.join()
        failed = [child.exitcode for child in children if child.exitcode != 0]
        if failed:
            raise OSError(f"a process writing the splits failed (exit code {failed[0]})")
        for target in targets:
            _join_parts(target, writers)
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
        for target in targets:
            for part in range(writers):
                _part(target, part).unlink(missing_ok=True)


def _write_range(table: Table, outputs: list[Output], mean: np.ndarray, scale: np.ndarray, worker: int,
                 start: int, end: int) -> None:  # fmt: skip
    """Write rows start..end of the splits taken in order to the worker's part files: headerless CSV, label first,
    each value as ``%.10g`` formats it, and the same rows without the label to the features file when there is one.
    _WRITE_ROWS rows at a time: memory holds one block of text, never the whole split."""
    offset = 0
    for rows, path, features_path in outputs:
        share = rows[max(start - offset, 0) : max(min(end - offset, len(rows)), 0)]
        offset += len(rows)
        with ExitStack() as files:
            parts = [_part(target, worker) for target in (path, features_path) if target is not None]
            for part in parts:
                part.parent.mkdir(parents=True, exist_ok=True)
            out, *features_out = (files.enter_context(part.open("wb")) for part in parts)
            for first in range(0, len(share), _WRITE_ROWS):
                block = share[first : first + _WRITE_ROWS]
                values = table.values[block]
                fields = np.column_stack([values[:, -1], (values[:, : len(NUMERIC)] - mean) / scale])
                whole, features = format_rows(fields, _ONE_HOT[table.sex[block]])
                out.write(whole)
                for features_file in features_out:
                    features_file.write(features)


def _part(path: Path, worker: int) -> Path:
    return path.with_name(f".{path.name}.part{worker}")


def _join_parts(path: Path, writers: int) -> None:
    _part(path, 0).replace(path)
    with path.open("ab") as joined:
        for worker in range(1, writers):
            with _part(path, worker).open("rb") as part:
                shutil.copyfileobj(part, joined, _CHUNK * 16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-data", required=True, help="s3://, https:// URI or local path of abalone.data")
    parser.add_argument("--seed", type=int, default=42, help="seed of the train/validation/test split")
    parser.add_argument("--output-dir", required=True, help="container directory for the outputs")
    parser.add_argument("--serving-code", help="directory of preprocess_serving.py: also write its model archive")
    args = parser.parse_args(argv)
    try:
        raw = fetch(args.input_data)
        input_sha256 = hashlib.sha256(raw).hexdigest()
        table = parse(raw)
    except DataError as exc:
        print(f"PrepareData: {exc}", file=sys.stderr)
        return 1
    del raw  # the parsed columns are all that is needed from here on
    if len(table) < 20:
        print(f"PrepareData: only {len(table)} rows; at least 20 are needed to split 70/15/15", file=sys.stderr)
        return 1
    parts = split_indices(len(table), args.seed)
    mean, scale = scaler(table, parts["train"])
    out = Path(args.output_dir)
    baseline = {"train": out / "baseline" / "train_features.csv"}
    outputs = [(rows, out / name / f"{name}.csv", baseline.get(name)) for name, rows in parts.items()]
    write_splits(table, outputs, mean, scale, writers=os.cpu_count() or 1)
    metadata = {"input_data": args.input_data, "input_sha256": input_sha256,
                "rows": {"total": len(table), **{name: len(rows) for name, rows in parts.items()}},
                "seed": args.seed, "label": "rings", "features": FEATURES,
                "mean": dict(zip(NUMERIC, mean.tolist(), strict=True)),
                "scale": dict(zip(NUMERIC, scale.tolist(), strict=True))}  # fmt: skip
    (out / "metadata").mkdir(parents=True, exist_ok=True)
    (out / "metadata" / "preprocessing.json").write_text(json.dumps(metadata, indent=2) + "\n")
    if args.serving_code:  # an inference pipeline's preprocessing container: this encoding, fitted here
        sys.path.insert(0, args.serving_code)
        __import__("preprocess_serving").write_model(out / "preprocessing_model", mean, scale)
    print(f"PrepareData: {len(table)} rows -> " + ", ".join(f"{n} {len(r)}" for n, r in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
