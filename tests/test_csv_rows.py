"""One CSV row contract (``showcase.csvrows``) for its three readers: the endpoint's precise parser and its Arrow
fast path (``serving.codec``; tests/test_serving_codec.py holds those two to each other on large bodies), and the
monitor's pandas profile of the rows the endpoint received (``monitoring.profile``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase import csvrows
from showcase.monitoring.profile import Profile
from showcase.serving import codec
from showcase.serving.codec import RequestError

WIDTH = 3
FIELDS = st.one_of(
    st.floats(-1e30, 1e30).map(repr),
    st.integers(-(10**9), 10**9).map(str),
    st.sampled_from(["", " ", " 1.5", "1.5 ", "\t2", "nan", "NaN", "-nan", "+.5", "-.5", "5.", "1e5", "1E-5", "007"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(FIELDS, min_size=WIDTH, max_size=WIDTH), min_size=1, max_size=8))
def test_the_monitor_profiles_the_values_the_endpoint_read(rows: list[list[str]]) -> None:
    """Every row the endpoint accepts (and so captures), profiled: each column's missing values are the endpoint's
    missing values (NaN), and its numbers are the endpoint's numbers, in order; no value is a String."""
    lines = [",".join(row) for row in rows]
    try:
        matrix = codec.decode("\n".join(lines).encode(), codec.CSV, WIDTH)
    except RequestError:
        return  # refused: never captured, never profiled
    profile = Profile.of_rows(lines)
    for index, column in enumerate(profile.columns):
        values = matrix[:, index]
        assert column.strings == 0, (lines, column.string_counts)
        assert column.num_missing == int(np.isnan(values).sum()), lines
        assert np.array_equal(column.numbers(), values[~np.isnan(values)]), lines


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), (" -2 ", -2.0), ("\t1e3", 1000.0), ("+.5", 0.5), ("5.", 5.0), ("", math.nan), (" ", math.nan)],
)
def test_a_field_reads_as_the_contract_says(text: str, value: float) -> None:
    assert csvrows.number(text) == value or (math.isnan(value) and math.isnan(csvrows.number(text)))


@pytest.mark.parametrize("text", ["1_000", "abc", "0x10", '"1"', "1,5", "--1"])
def test_a_field_that_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        csvrows.number(text)
