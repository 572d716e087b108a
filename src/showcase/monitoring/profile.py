"""Profile headerless CSV text column by column, as Model Monitor's analyzer reads a CSV dataset.

Columns are named ``_c0``, ``_c1``, ... as Spark names the columns of a headerless CSV. A row with fewer
fields than the widest row has the rest missing; an empty field is missing. A present value is Integral
when it parses as a whole number written without a decimal point or exponent, Fractional when it parses
as any other finite number, String otherwise. Rows are parsed in chunks by pandas' C parser, so memory
stays bounded by the chunk plus one float per numeric value.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CHUNK_ROWS = 200_000
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
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=list(range(width)),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=3,  # csv.QUOTE_NONE: the endpoint's CSV has no quoting either
            engine="c",
        )
        for index, column in enumerate(self.columns):
            if index < width:
                _add_column(column, frame[index])
            else:
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
