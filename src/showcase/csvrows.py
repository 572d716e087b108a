"""What a row of CSV is, wherever the project reads one: a request body at the endpoint (``serving.codec``: its
precise parser and its Arrow fast path) and a dataset Model Monitor's analyzer profiles (``monitoring.profile``: a
baseline dataset, the endpoint's captured requests).

- No header. Fields are separated by ``DELIMITER``, with no quoting (``QUOTING``): a quote is part of its field.
- A row ends at a newline; a blank row is skipped.
- Spaces and tabs around a value are not part of it.
- A field that is empty, or ``nan`` in any case (as the XGBoost container reads it), is a missing value.
- Any other field is a number as ``number`` reads it (Python's ``float`` of the stripped text, with no ``_``), or
  it is not one: the endpoint refuses it, the monitor counts it as a String.

tests/test_csv_rows.py holds the readers to it: the endpoint's two parsers read every large body alike, and the
monitor profiles exactly the values the endpoint read.
"""

from __future__ import annotations

import csv
import math

DELIMITER = ","
QUOTING = csv.QUOTE_NONE
MISSING = r"(?i)^[+-]?nan$"
"""Besides an empty field, what is a missing value (a regular expression over the stripped field): ``nan``, as
Python's ``float`` and the XGBoost container read it."""


def number(field: str) -> float:
    """The value of one field: NaN when it is missing (empty, or ``nan``); ValueError when it is not a number."""
    stripped = field.strip()
    if not stripped:
        return math.nan
    if "_" in stripped:
        raise ValueError(f"{stripped!r} is not a number")
    return float(stripped)
