"""SageMaker Clarify's bias metrics, each as the Clarify developer guide defines it (the SDK's method lists).

Every metric compares the advantaged facet ``a`` (the rows outside the sensitive group) with the sensitive facet
``d``. Labels are booleans (the positive outcome, after ``label_values_or_threshold``); ``n_a``, ``n_d`` count the
facets' rows, ``q_a``, ``q_d`` their shares of positive labels and ``q̂`` the same of predicted labels. Sources: the
guide's pages ``clarify-data-bias-metric-*.md`` and ``clarify-post-training-bias-metric-*.md`` (linked from the
docstrings of ``sagemaker.core.clarify.SageMakerClarifyProcessor.run_bias``), and the Clarify whitepaper
("Amazon SageMaker Clarify: Machine Learning Bias Detection and Explainability in the Cloud", 2021).

A metric that divides by zero (a facet without rows, or with no predicted positives, ...) has no value: its
entry carries ``error`` instead, as Clarify's analysis.json does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT")
DESCRIPTIONS = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DI": "Disparate Impact (DI)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "RD": "Recall Difference (RD)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "TE": "Treatment Equality (TE)",
    "FT": "Flip Test (FT)",
}
FAIR_VALUE = {"DI": 1.0}
"""The value of a metric when the facets are treated alike: 1 for DI (a ratio), 0 for every other metric."""
FLIP_NEIGHBOURS = 5
FLIP_BLOCK = 512
"""Rows of facet d whose distances to facet a are computed at once by the flip test."""


class Undefined(ArithmeticError):
    """The metric divides by zero on these rows."""


def _ratio(top: float, bottom: float, what: str) -> float:
    if bottom == 0:
        raise Undefined(what)
    return top / bottom


def _share(values: np.ndarray, what: str) -> float:
    return _ratio(float(np.count_nonzero(values)), float(values.size), what)


def class_imbalance(facet: np.ndarray) -> float:
    """CI = (n_a - n_d) / (n_a + n_d), in [-1, 1]."""
    n_d = int(np.count_nonzero(facet))
    n_a = facet.size - n_d
    return _ratio(n_a - n_d, n_a + n_d, "no rows")


def positive_proportion_difference(outcome: np.ndarray, facet: np.ndarray) -> float:
    """DPL (of labels) and DPPL (of predicted labels) = q_a - q_d, in [-1, 1]."""
    return _share(outcome[~facet], "facet a has no rows") - _share(outcome[facet], "facet d has no rows")


def _distributions(label: np.ndarray, facet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_a(y), P_d(y) over y in (negative, positive)."""
    q_a, q_d = _share(label[~facet], "facet a has no rows"), _share(label[facet], "facet d has no rows")
    return np.array([1 - q_a, q_a]), np.array([1 - q_d, q_d])


def kl_divergence(label: np.ndarray, facet: np.ndarray) -> float:
    """KL = sum_y P_a(y) log(P_a(y) / P_d(y)), >= 0 (infinite distributions have no value)."""
    p_a, p_d = _distributions(label, facet)
    if np.any((p_d == 0) & (p_a > 0)):
        raise Undefined("facet d has no rows of a label value facet a has")
    kept = p_a > 0
    return float(np.sum(p_a[kept] * np.log(p_a[kept] / p_d[kept])))


def js_divergence(label: np.ndarray, facet: np.ndarray) -> float:
    """JS = 1/2 [KL(P_a, P) + KL(P_d, P)] with P = (P_a + P_d) / 2, in [0, ln 2]."""
    p_a, p_d = _distributions(label, facet)
    middle = (p_a + p_d) / 2

    def kl(p: np.ndarray) -> float:
        kept = p > 0
        return float(np.sum(p[kept] * np.log(p[kept] / middle[kept])))

    return 0.5 * (kl(p_a) + kl(p_d))


def lp_norm(label: np.ndarray, facet: np.ndarray, p: int = 2) -> float:
    """LP = (sum_y |P_a(y) - P_d(y)|^p)^(1/p), Clarify's default p = 2 (the Euclidean distance)."""
    p_a, p_d = _distributions(label, facet)
    return float(np.sum(np.abs(p_a - p_d) ** p) ** (1 / p))


def total_variation_distance(label: np.ndarray, facet: np.ndarray) -> float:
    """TVD = 1/2 sum_y |P_a(y) - P_d(y)|, in [0, 1]."""
    p_a, p_d = _distributions(label, facet)
    return float(0.5 * np.sum(np.abs(p_a - p_d)))


def kolmogorov_smirnov(label: np.ndarray, facet: np.ndarray) -> float:
    """KS = max_y |P_a(y) - P_d(y)|, in [0, 1]."""
    p_a, p_d = _distributions(label, facet)
    return float(np.max(np.abs(p_a - p_d)))


def demographic_disparity(outcome: np.ndarray, facet: np.ndarray) -> float:
    """DD_d = n_d(0) / n(0) - n_d(1) / n(1): facet d's share of the rejected minus its share of the accepted."""
    rejected, accepted = ~outcome, outcome
    return _share(facet[rejected], "no negative outcomes") - _share(facet[accepted], "no positive outcomes")


def conditional_demographic_disparity(outcome: np.ndarray, facet: np.ndarray, group: np.ndarray | None) -> float:
    """CDDL (labels) and CDDPL (predicted labels) = (1/n) sum_i n_i DD_i over the subgroups i of ``group_variable``;
    a subgroup without both outcomes has no DD_i and is left out of the sum and of n."""
    if group is None:
        raise Undefined("no group_variable in the analysis config")
    total, weighted = 0, 0.0
    for value in np.unique(group):
        rows = group == value
        try:
            disparity = demographic_disparity(outcome[rows], facet[rows])
        except Undefined:
            continue
        total += int(np.count_nonzero(rows))
        weighted += int(np.count_nonzero(rows)) * disparity
    return _ratio(weighted, total, "no subgroup has both outcomes")


def _confusion(label: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    return {
        "TP": int(np.count_nonzero(label & predicted)),
        "FP": int(np.count_nonzero(~label & predicted)),
        "TN": int(np.count_nonzero(~label & ~predicted)),
        "FN": int(np.count_nonzero(label & ~predicted)),
    }


def disparate_impact(predicted: np.ndarray, facet: np.ndarray) -> float:
    """DI = q̂_d / q̂_a, in [0, inf); 1 when the facets are predicted alike."""
    return _ratio(
        _share(predicted[facet], "facet d has no rows"),
        _share(predicted[~facet], "facet a has no rows"),
        "facet a has no predicted positives",
    )


def _per_facet(
    label: np.ndarray, predicted: np.ndarray, facet: np.ndarray, rate: Callable[[dict[str, int]], float]
) -> tuple[float, float]:
    """``rate`` of facet a's confusion matrix, then of facet d's."""
    return rate(_confusion(label[~facet], predicted[~facet])), rate(_confusion(label[facet], predicted[facet]))


def conditional_acceptance_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """DCA = c_a - c_d with c = n(1) / n̂(1): observed positives over predicted positives."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TP"] + m["FN"], m["TP"] + m["FP"], "no ŷ=1"))
    return a - d


def conditional_rejection_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """DCR = r_d - r_a with r = n(0) / n̂(0): observed negatives over predicted negatives."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TN"] + m["FP"], m["TN"] + m["FN"], "no ŷ=0"))
    return d - a


def recall_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """RD = TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d)."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TP"], m["TP"] + m["FN"], "no y=1"))
    return a - d


def acceptance_rate_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """DAR = TP_a / n̂_a(1) - TP_d / n̂_d(1) (the facets' precision)."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TP"], m["TP"] + m["FP"], "no ŷ=1"))
    return a - d


def rejection_rate_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """DRR = TN_d / n̂_d(0) - TN_a / n̂_a(0)."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TN"], m["TN"] + m["FN"], "no ŷ=0"))
    return d - a


def accuracy_difference(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """AD = ACC_a - ACC_d, ACC = (TP + TN) / n."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["TP"] + m["TN"], sum(m.values()), "no rows"))
    return a - d


def treatment_equality(label: np.ndarray, predicted: np.ndarray, facet: np.ndarray) -> float:
    """TE = FN_d / FP_d - FN_a / FP_a."""
    a, d = _per_facet(label, predicted, facet, lambda m: _ratio(m["FN"], m["FP"], "no false positives"))
    return d - a


def flip_test(predicted: np.ndarray, facet: np.ndarray, features: np.ndarray) -> float:
    """FT = (F+ - F-) / n_d: each member of facet d is compared with the majority prediction of its
    ``FLIP_NEIGHBOURS`` nearest members of facet a (Euclidean, on the features standardised); F+ counts the members
    whose neighbours are predicted positive while they are not, F- the reverse."""
    members, others = features[facet], features[~facet]
    if members.shape[0] == 0 or others.shape[0] == 0:
        raise Undefined("a facet has no rows")
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    members, others = members / scale, others / scale
    neighbours = min(FLIP_NEIGHBOURS, others.shape[0])
    their_predictions, own = predicted[~facet], predicted[facet]
    squares = np.sum(others**2, axis=1)
    counterfactual = np.empty(members.shape[0], dtype=bool)
    for start in range(0, members.shape[0], FLIP_BLOCK):
        block = members[start : start + FLIP_BLOCK]
        # |x - y|^2 = |y|^2 - 2 x.y (+ |x|^2, the same for every y of a row): a block of rows at a time.
        distances = squares[None, :] - 2.0 * block @ others.T
        nearest = np.argpartition(distances, neighbours - 1, axis=1)[:, :neighbours]
        counterfactual[start : start + FLIP_BLOCK] = (
            np.count_nonzero(their_predictions[nearest], axis=1) * 2 > neighbours
        )
    flips_up = int(np.count_nonzero(counterfactual & ~own))
    flips_down = int(np.count_nonzero(own & ~counterfactual))
    return (flips_up - flips_down) / members.shape[0]


def _entry(name: str, compute: Callable[[], float]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "description": DESCRIPTIONS[name]}
    try:
        value = compute()
    except Undefined as exc:
        return {**entry, "value": None, "error": f"{name} is undefined on this data: {exc}"}
    return {**entry, "value": value if math.isfinite(value) else None}


def pre_training(
    methods: list[str], label: np.ndarray, facet: np.ndarray, group: np.ndarray | None
) -> list[dict[str, Any]]:
    """The pre-training metrics named in ``methods`` (Clarify's order), each ``{name, description, value}``."""
    table: dict[str, Callable[[], float]] = {
        "CI": lambda: class_imbalance(facet),
        "DPL": lambda: positive_proportion_difference(label, facet),
        "KL": lambda: kl_divergence(label, facet),
        "JS": lambda: js_divergence(label, facet),
        "LP": lambda: lp_norm(label, facet),
        "TVD": lambda: total_variation_distance(label, facet),
        "KS": lambda: kolmogorov_smirnov(label, facet),
        "CDDL": lambda: conditional_demographic_disparity(label, facet, group),
    }
    return [_entry(name, table[name]) for name in sorted(methods)]


def post_training(
    methods: list[str],
    label: np.ndarray,
    predicted: np.ndarray,
    facet: np.ndarray,
    group: np.ndarray | None,
    features: np.ndarray,
) -> list[dict[str, Any]]:
    """The post-training metrics named in ``methods``, each ``{name, description, value}``."""
    table: dict[str, Callable[[], float]] = {
        "DPPL": lambda: positive_proportion_difference(predicted, facet),
        "DI": lambda: disparate_impact(predicted, facet),
        "DCA": lambda: conditional_acceptance_difference(label, predicted, facet),
        "DCR": lambda: conditional_rejection_difference(label, predicted, facet),
        "RD": lambda: recall_difference(label, predicted, facet),
        "DAR": lambda: acceptance_rate_difference(label, predicted, facet),
        "DRR": lambda: rejection_rate_difference(label, predicted, facet),
        "AD": lambda: accuracy_difference(label, predicted, facet),
        "CDDPL": lambda: conditional_demographic_disparity(predicted, facet, group),
        "TE": lambda: treatment_equality(label, predicted, facet),
        "FT": lambda: flip_test(predicted, facet, features),
    }
    return [_entry(name, table[name]) for name in sorted(methods)]
