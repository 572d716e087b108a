"""Profile headerless CSV text column by column, as Model Monitor's analyzer reads a CSV dataset.

Rows are read as ``showcase.csvrows`` says a CSV row is, as the endpoint reads them. Columns are named ``_c0``,
``_c1``, ... as Spark names the columns of a headerless CSV. A row with fewer fields than the widest row has the
rest missing; an empty field, or ``nan``, is missing. A present value is Integral
when it parses as a whole number written without a decimal point or exponent, Fractional when it parses
as any other finite number, String otherwise. Rows are parsed in chunks by pandas' C parser, so memory
stays bounded by the chunk plus one float per numeric value: as floats when every field of the chunk is a
number (fast), else as text. Files are read as bytes, a chunk of rows at a time, with no Python object per
row (``Profile.of_files``): the rows are the lines as Python's text mode reads them (``\n``, ``\r\n`` or ``\r``
ends a line), blank lines skipped.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from showcase import csvrows

CHUNK_ROWS = 200_000
BLOCK_BYTES = 16 << 20
"""Bytes read from a file at a time."""
_NUMBER_BYTES = b"0123456789eE.,+-\n"
"""The only bytes of a chunk read as floats; any other sends it to the text path (which also counts Strings)."""
_COMMA, _NEWLINE = ord(","), ord("\n")
MAX_DISTINCT = 1_000
"""String values counted per column before the rest are lumped together (a categorical distribution)."""


def column_name(index: int) -> str:
    return f"_c{index}"


@dataclass
class ColumnProfile:
    name: str
    num_present: int = 0
    num_missing: int = 0
    integral: int = 0
    fractional: int = 0
    strings: int = 0
    values: list[np.ndarray] = field(default_factory=list)
    """Every finite numeric value seen, chunk by chunk (float64)."""
    string_counts: Counter[str] = field(default_factory=Counter)

    def numbers(self) -> np.ndarray:
        return np.concatenate(self.values) if self.values else np.empty(0)


@dataclass
class Profile:
    item_count: int = 0
    columns: list[ColumnProfile] = field(default_factory=list)

    def add_rows(self, rows: Sequence[str]) -> None:
        """Add CSV rows (one record each, no header, no trailing newline)."""
        if rows:
            self.add_text(("\n".join(rows) + "\n").encode("utf-8"), len(rows))

    def add_text(self, text: bytes, rows: int) -> None:
        """Add ``rows`` CSV rows: UTF-8 text, each row ending with ``\n``, none of them blank."""
        if not rows:
            return
        data = np.frombuffer(text, dtype=np.uint8)
        ends = np.flatnonzero(data == _NEWLINE)
        per_row = np.diff(np.searchsorted(np.flatnonzero(data == _COMMA), ends), prepend=0)  # commas in each row
        width = int(per_row.max()) + 1
        while len(self.columns) < width:
            # A column first seen now was missing from every earlier row.
            self.columns.append(ColumnProfile(column_name(len(self.columns)), num_missing=self.item_count))
        numbers = None if text.translate(None, _NUMBER_BYTES) else _numbers(text, width)
        if numbers is not None:
            whole_columns = [index for index in range(width) if _all_whole(numbers[:, index])]
            decimals = _decimal_tokens(data, ends, width, whole_columns, uniform=bool((per_row == width - 1).all()))
            for index, column in enumerate(self.columns[:width]):
                _add_numbers(column, numbers[:, index], decimals.get(index))
        else:
            frame = _read(text, width, dtype=str)
            for index, column in enumerate(self.columns[:width]):
                _add_column(column, frame[index])
        for column in self.columns[width:]:
            column.num_missing += rows
        self.item_count += rows

    @classmethod
    def of_rows(cls, rows: Iterable[str], chunk_rows: int = CHUNK_ROWS) -> Profile:
        profile = cls()
        chunk: list[str] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                profile.add_rows(chunk)
                chunk = []
        profile.add_rows(chunk)
        return profile

    @classmethod
    def of_files(cls, paths: Iterable[Path], chunk_rows: int = CHUNK_ROWS) -> Profile:
        """The profile of the files' rows, in order: what ``of_rows`` makes of their lines, read as bytes."""
        profile = cls()
        for text, rows in _row_chunks(paths, chunk_rows):
            profile.add_text(text, rows)
        return profile


def _row_chunks(paths: Iterable[Path], chunk_rows: int) -> Iterator[tuple[bytes, int]]:
    """The files' non-blank lines, ``chunk_rows`` at a time (the last chunk may hold fewer), each ending ``\n``."""
    pending: list[bytes] = []
    count = 0
    for lines in _line_blocks(paths):
        while lines:
            ends = np.flatnonzero(np.frombuffer(lines, dtype=np.uint8) == _NEWLINE)
            needed = chunk_rows - count
            if len(ends) < needed:
                pending.append(lines)
                count += len(ends)
                break
            end = int(ends[needed - 1]) + 1
            yield b"".join([*pending, lines[:end]]), chunk_rows
            pending, count, lines = [], 0, lines[end:]
    if count:
        yield b"".join(pending), count


def _line_blocks(paths: Iterable[Path]) -> Iterator[bytes]:
    """Each file's lines, about BLOCK_BYTES at a time, cut after a line end (a last line without one gets it)."""
    for path in paths:
        with path.open("rb") as stream:
            carry = b""
            while block := stream.read(BLOCK_BYTES):
                block = carry + block
                cut = block.rfind(b"\n") + 1
                carry = block[cut:]
                if cut:
                    yield _lines(block[:cut])
            if carry:
                yield _lines(carry + b"\n")


def _lines(block: bytes) -> bytes:
    """Whole lines as text mode reads them (``\r\n`` and ``\r`` end a line too), blank ones dropped."""
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if block.startswith(b"\n") or b"\n\n" in block:
        block = b"".join(line + b"\n" for line in block.split(b"\n") if line)
    return block


def _read(text: bytes, width: int, *, dtype: Any, usecols: list[int] | None = None) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(text),
        header=None,
        names=list(range(width)),
        usecols=usecols,
        dtype=dtype,
        keep_default_na=False,
        na_values=[""] if dtype is not str else None,
        na_filter=dtype is not str,
        skip_blank_lines=False,
        sep=csvrows.DELIMITER,
        quoting=csvrows.QUOTING,
        engine="c",
        encoding="utf-8",
    )


def _numbers(text: bytes, width: int) -> np.ndarray | None:
    """The chunk as floats (NaN where a field is empty or missing), or None when a field is not a number."""
    try:
        numbers = _read(text, width, dtype=np.float64).to_numpy()
    except ValueError:
        return None
    return None if np.isinf(numbers).any() else numbers


def _all_whole(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return bool(present.size) and bool((present == np.floor(present)).all())


def _decimal_tokens(
    data: np.ndarray, ends: np.ndarray, width: int, columns: list[int], *, uniform: bool
) -> dict[int, np.ndarray]:
    """For columns whose every value is a whole number: which tokens are written as decimals (``1.0``, ``1e2``).

    Found from the bytes (a chunk the float path reads holds no letter but ``e`` and ``E``): when every row has
    ``width`` fields, by counting the ``.``, ``e`` and ``E`` between each of these fields' separators; else
    by finding the row and field of each of them from the newlines and commas before it.
    """
    if not columns:
        return {}
    marks = np.flatnonzero((data == ord(".")) | (data == ord("e")) | (data == ord("E")))
    if not marks.size:
        return {index: np.zeros(len(ends), dtype=bool) for index in columns}
    if uniform:
        field_ends = np.flatnonzero((data == _COMMA) | (data == _NEWLINE)).reshape(len(ends), width)
        row_starts = np.concatenate([[0], ends[:-1] + 1])
        decimals = {}
        for index in columns:
            starts = field_ends[:, index - 1] + 1 if index else row_starts
            decimals[index] = np.searchsorted(marks, field_ends[:, index]) > np.searchsorted(marks, starts)
        return decimals
    decimal = np.zeros((len(ends), width), dtype=bool)
    commas = np.flatnonzero(data == _COMMA)
    rows = np.searchsorted(ends, marks)
    starts = np.concatenate([[0], ends[:-1] + 1])
    fields = np.searchsorted(commas, marks) - np.searchsorted(commas, starts[rows])
    decimal[rows, fields] = True
    return {index: decimal[:, index] for index in columns}


def _add_numbers(column: ColumnProfile, values: np.ndarray, decimal: np.ndarray | None) -> None:
    """A column that parsed as numbers. A value is Integral when whole and, in a column of whole values only,
    written without a decimal point or exponent; in a column with fractions, every whole value counts as
    Integral (the text is not read again: it decides no type, only that share)."""
    present = ~np.isnan(values)
    whole = present & (values == np.floor(np.where(present, values, 0.0)))
    if decimal is not None:
        whole &= ~decimal
    n_present = int(present.sum())
    integral = int(whole.sum())
    column.num_present += n_present
    column.num_missing += len(values) - n_present
    column.integral += integral
    column.fractional += n_present - integral
    if n_present:
        column.values.append(values[present])


def _add_column(column: ColumnProfile, text: pd.Series) -> None:
    stripped = text.fillna("").str.strip()
    present = (stripped != "") & ~stripped.str.match(csvrows.MISSING)
    numbers = pd.to_numeric(stripped.where(present), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(numbers) & present.to_numpy()
    decimal = stripped.str.contains(r"[.eE]", regex=True).to_numpy()
    n_present = int(present.sum())
    integral = int((finite & ~decimal).sum())
    numeric = int(finite.sum())
    column.num_present += n_present
    column.num_missing += len(text) - n_present
    column.integral += integral
    column.fractional += numeric - integral
    column.strings += n_present - numeric
    if numeric:
        column.values.append(numbers[finite])
    if n_present > numeric:
        others = stripped[present.to_numpy() & ~finite]
        for value, count in others.value_counts().items():
            if len(column.string_counts) < MAX_DISTINCT or value in column.string_counts:
                column.string_counts[str(value)] += int(count)


def type_counts(profile: Profile) -> dict[str, dict[str, int]]:
    """Each column's present values by type: what the data_type_check weighs."""
    return {
        column.name: {"Integral": column.integral, "Fractional": column.fractional, "String": column.strings}
        for column in profile.columns
    }
