"""Clarify's bias metrics against hand-worked cases of their documented definitions, and their invariants."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.monitoring import bias
from showcase.monitoring.bias import post_training, pre_training

# Ten rows: facet d is the first four (labels 1,0,0,0: q_d = 1/4), facet a the other six (1,1,1,0,0,0: q_a = 1/2).
FACET = np.array([True] * 4 + [False] * 6)
LABEL = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
# Predictions: d gets TP 1, FP 1, TN 2, FN 0; a gets TP 2, FP 1, TN 2, FN 1.
PREDICTED = np.array([1, 1, 0, 0, 1, 1, 0, 1, 0, 0], dtype=bool)


def values(entries: list[dict]) -> dict[str, float | None]:
    return {entry["name"]: entry["value"] for entry in entries}


def test_pre_training_metrics_of_a_worked_case() -> None:
    found = values(pre_training(list(bias.PRE_TRAINING), LABEL, FACET, np.array(["g"] * 10)))
    middle = (0.625, 0.375)
    expected_js = 0.5 * (
        0.5 * math.log(0.5 / middle[0]) + 0.5 * math.log(0.5 / middle[1])
        + 0.75 * math.log(0.75 / middle[0]) + 0.25 * math.log(0.25 / middle[1])
    )  # fmt: skip
    assert found == pytest.approx(
        {
            "CI": (6 - 4) / 10,
            "DPL": 0.5 - 0.25,
            "KL": 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25),
            "JS": expected_js,
            "LP": math.sqrt(0.25**2 + 0.25**2),
            "TVD": 0.5 * (0.25 + 0.25),
            "KS": 0.25,
            # one group: CDDL is the demographic disparity, d's share of the rejected (3/6) less of the accepted (1/4)
            "CDDL": 3 / 6 - 1 / 4,
        }
    )


def test_post_training_metrics_of_a_worked_case() -> None:
    features = np.arange(20, dtype=float).reshape(10, 2)
    found = values(post_training(list(bias.POST_TRAINING), LABEL, PREDICTED, FACET, None, features))
    assert found.pop("CDDPL") is None  # no group_variable
    ft = found.pop("FT")
    assert found == pytest.approx(
        {
            "DPPL": 3 / 6 - 2 / 4,
            "DI": (2 / 4) / (3 / 6),
            "DCA": 3 / 3 - 1 / 2,  # observed over predicted positives, a less d
            "DCR": 3 / 2 - 3 / 3,  # observed over predicted negatives, d less a
            "RD": 2 / 3 - 1 / 1,
            "DAR": 2 / 3 - 1 / 2,
            "DRR": 2 / 2 - 2 / 3,
            "AD": 4 / 6 - 3 / 4,
            "TE": 0 / 1 - 1 / 1,
        }
    )
    assert -1.0 <= ft <= 1.0


def test_the_flip_test_counts_members_whose_neighbours_are_predicted_otherwise() -> None:
    """Facet d's two members sit beside facet a's clusters: the first beside five predicted positives while it is
    predicted negative (F+), the second beside five negatives like itself."""
    features = np.array([[0.0], [10.0], [0.1], [0.2], [0.3], [0.4], [0.5], [10.1], [10.2], [10.3], [10.4], [10.5]])
    facet = np.array([True, True] + [False] * 10)
    predicted = np.array([False, False] + [True] * 5 + [False] * 5)
    assert bias.flip_test(predicted, facet, features) == pytest.approx((1 - 0) / 2)


def test_an_undefined_metric_carries_an_error_not_a_value() -> None:
    no_positive_prediction = np.zeros(10, dtype=bool)
    (di,) = post_training(["DI"], LABEL, no_positive_prediction, FACET, None, np.zeros((10, 1)))
    assert di["value"] is None
    assert di["error"].startswith("DI is undefined on this data: ")
    assert di["description"] == "Disparate Impact (DI)"


labels = st.lists(st.booleans(), min_size=2, max_size=60)


@given(labels, st.data())
def test_bounds_of_the_pre_training_metrics(label_list: list[bool], data: st.DataObject) -> None:
    facet = np.array(data.draw(st.lists(st.booleans(), min_size=len(label_list), max_size=len(label_list))))
    label = np.array(label_list)
    assert -1.0 <= bias.class_imbalance(facet) <= 1.0
    if facet.all() or not facet.any():
        return
    assert -1.0 <= bias.positive_proportion_difference(label, facet) <= 1.0
    assert 0.0 <= bias.js_divergence(label, facet) <= math.log(2) + 1e-12
    assert 0.0 <= bias.total_variation_distance(label, facet) <= 1.0
    assert 0.0 <= bias.kolmogorov_smirnov(label, facet) <= 1.0
    with contextlib.suppress(bias.Undefined):  # facet d lacks a label value facet a has: no finite KL
        assert bias.kl_divergence(label, facet) >= -1e-12


@given(labels)
def test_identical_facets_show_no_bias(label_list: list[bool]) -> None:
    """The same rows in both facets: every distance is 0, and CI too."""
    label = np.array(label_list * 2)
    facet = np.array([True] * len(label_list) + [False] * len(label_list))
    assert bias.class_imbalance(facet) == 0
    for metric in (bias.positive_proportion_difference, bias.js_divergence, bias.lp_norm, bias.kolmogorov_smirnov):
        assert metric(label, facet) == pytest.approx(0.0, abs=1e-12)
    if label.all() or not label.any():
        return
    assert bias.kl_divergence(label, facet) == pytest.approx(0.0, abs=1e-12)
    assert bias.disparate_impact(label, facet) == pytest.approx(1.0)
