"""Profile headerless CSV text column by column, as Model Monitor's analyzer reads a CSV dataset.

Columns are named ``_c0``, ``_c1``, ... as Spark names the columns of a headerless CSV. A row with fewer
fields than the widest row has the rest missing; an empty field is missing. A present value is Integral
when it parses as a whole number written without a decimal point or exponent, Fractional when it parses
as any other finite number, String otherwise. Rows are parsed in chunks by pandas' C parser, so memory
stays bounded by the chunk plus one float per numeric value: as floats when every field of the chunk is a
number (fast), else as text.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

CHUNK_ROWS = 200_000
_NOT_NUMERIC = re.compile(r"[^0-9eE.,+\-\n]")
"""A character no number field has: the chunk is read as text (a slower path that also counts String values)."""
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
        if not rows:
            return
        width = max(row.count(",") for row in rows) + 1
        while len(self.columns) < width:
            # A column first seen now was missing from every earlier row.
            self.columns.append(ColumnProfile(column_name(len(self.columns)), num_missing=self.item_count))
        text = "\n".join(rows) + "\n"
        numbers = _numbers(text, width) if not _NOT_NUMERIC.search(text) else None
        if numbers is not None:
            whole_columns = [index for index in range(width) if _all_whole(numbers[:, index])]
            decimals = _decimal_tokens(text, width, whole_columns)
            for index, column in enumerate(self.columns[:width]):
                _add_numbers(column, numbers[:, index], decimals.get(index))
        else:
            frame = _read(text, width, dtype=str)
            for index, column in enumerate(self.columns[:width]):
                _add_column(column, frame[index])
        for column in self.columns[width:]:
            column.num_missing += len(rows)
        self.item_count += len(rows)

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


def _read(text: str, width: int, *, dtype: Any, usecols: list[int] | None = None) -> pd.DataFrame:
    return pd.read_csv(
        io.StringIO(text),
        header=None,
        names=list(range(width)),
        usecols=usecols,
        dtype=dtype,
        keep_default_na=False,
        na_values=[""] if dtype is not str else None,
        na_filter=dtype is not str,
        skip_blank_lines=False,
        quoting=3,  # csv.QUOTE_NONE: the endpoint's CSV has no quoting either
        engine="c",
    )


def _numbers(text: str, width: int) -> np.ndarray | None:
    """The chunk as floats (NaN where a field is empty or missing), or None when a field is not a number."""
    try:
        numbers = _read(text, width, dtype=np.float64).to_numpy()
    except ValueError:
        return None
    return None if np.isinf(numbers).any() else numbers


def _all_whole(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return bool(present.size) and bool((present == np.floor(present)).all())


def _decimal_tokens(text: str, width: int, columns: list[int]) -> dict[int, np.ndarray]:
    """For columns whose every value is a whole number: which tokens are written as decimals (``1.0``, ``1e2``)."""
    if not columns:
        return {}
    frame = _read(text, width, dtype=str, usecols=columns)
    return {index: frame[index].str.contains(r"[.eE]", regex=True).to_numpy() for index in columns}


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
    present = stripped != ""
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
