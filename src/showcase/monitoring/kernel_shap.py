"""Clarify's KernelSHAP: SHAP values of any prediction function, with ``shap.KernelExplainer``, as SHAPConfig asks.

SHAPConfig (``methods.shap`` of analysis_config.json) is read as Clarify reads it:

- ``baseline``: rows of the features alone (no label), each as wide as the records' features: the background
  the explainer replaces a coalition's missing features with. None: k-means of the dataset with
  ``num_clusters`` clusters (``shap.kmeans``: each centre rounded to a value its feature takes, weighted by its
  cluster's size; ``DEFAULT_CLUSTERS`` when not given, which Clarify does not document). An S3 URI names a file
  of such rows in the dataset's format (CSV here: one row a line, no header); the job reads the object the runner
  staged and gives its text as ``baseline_file`` (``rows_of_file``). The K-prototypes baseline Clarify computes
  for non-numeric features is refused: give rows.
- ``num_samples``: the coalitions evaluated per record (``nsamples``); none: shap's ``2 M + 2048`` for M
  features. Fewer than the M + 1 it takes to fit M values (or all ``2^M - 2`` coalitions, for very few features)
  is refused.
- ``use_logit``: the explainer's ``logit`` link: predictions must be probabilities, values are in log-odds.
- ``seed``: seeds the coalitions drawn (numpy's generator, which shap draws from); none: not repeatable.
- ``agg_method``, ``save_local_shap_values``: as for every SHAP analysis (``clarify.global_shap``).

The regression is unregularised (``l1_reg=False``): every feature gets its value, as in Clarify's output.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from showcase.errors import MonitoringError

DEFAULT_CLUSTERS = 10
UNSUPPORTED = ("text_config", "image_config", "features_to_explain")


def explain(
    predict: Callable[[np.ndarray], np.ndarray],
    features: np.ndarray,
    names: Sequence[str],
    config: Mapping[str, Any],
    baseline_file: str | None = None,
) -> tuple[np.ndarray, float]:
    """Every record's SHAP values (records x features) and the expected value: the prediction over the baseline,
    in the link's units; ``baseline_file`` is the text of the object an S3 URI ``baseline`` names. Raises
    MonitoringError naming the SHAPConfig field that cannot be honoured."""
    given = [key for key in UNSUPPORTED if config.get(key) is not None]
    if given:
        raise MonitoringError(f"shap.{given[0]} is not computed locally: explain every feature of tabular data")
    use_logit = bool(config.get("use_logit", False))
    nsamples = _num_samples(config.get("num_samples"), len(names))
    background = _background(features, names, config, baseline_file)
    seed = None if config.get("seed") is None else _whole(config["seed"], "seed", least=0)
    import shap  # after every check: a SHAPConfig refused costs no import of it

    if seed is not None:
        np.random.seed(seed)  # shap draws its coalitions from numpy's global generator
    explainer = shap.KernelExplainer(
        _checked(predict, use_logit), background, link="logit" if use_logit else "identity"
    )
    values = np.asarray(explainer.shap_values(features, nsamples=nsamples, l1_reg=False, silent=True), dtype=float)
    if values.ndim == 3:  # one output: some shap versions keep its axis
        values = values[..., 0]
    expected = np.asarray(explainer.expected_value, dtype=float).ravel()
    return values.reshape(len(features), len(names)), float(expected[0])


def _checked(predict: Callable[[np.ndarray], np.ndarray], use_logit: bool) -> Callable[[np.ndarray], np.ndarray]:
    """``predict``, refusing an answer that is not one finite number per row (or not a probability, with logit)."""

    def checked(rows: np.ndarray) -> np.ndarray:
        scores = np.asarray(predict(rows), dtype=float)
        if scores.ndim > 1 and scores.shape[1:] != (1,) * (scores.ndim - 1):
            raise MonitoringError(f"the model answers {scores.shape[1]} values per record: KernelSHAP explains one")
        scores = scores.reshape(len(rows))
        if not np.isfinite(scores).all():
            raise MonitoringError("the model predicts a value that is not finite: no SHAP values can explain it")
        if use_logit and ((scores <= 0) | (scores >= 1)).any():
            outside = scores[(scores <= 0) | (scores >= 1)][0]
            raise MonitoringError(
                f"shap.use_logit needs predictions that are probabilities in (0, 1); the model predicts {outside:g}: "
                "set use_logit to false for a model that does not predict a probability"
            )
        return scores

    return checked


def rows_of_file(text: str, uri: str, names: Sequence[str]) -> list[list[object]]:
    """A baseline file's rows, as Clarify reads a CSV one: a row a line, no header; a value that reads as a number
    is one, any other stays text (a category)."""
    rows = [[field.strip() for field in row] for row in csv.reader(text.splitlines()) if any(row)]
    if not rows:
        raise MonitoringError(f"shap.baseline {uri} holds no rows: give a CSV file of feature values, a row a line")
    if rows[0] == [str(name) for name in names]:
        raise MonitoringError(
            f"shap.baseline {uri} starts with a header line ({','.join(rows[0])}): Clarify reads a baseline file "
            "as rows of feature values alone, without a header; remove that line"
        )
    return [[_number_or_text(field) for field in row] for row in rows]


def _number_or_text(field: str) -> object:
    try:
        return float(field)
    except ValueError:
        return field


def _background(
    features: np.ndarray, names: Sequence[str], config: Mapping[str, Any], baseline_file: str | None
) -> Any:
    import shap

    baseline = config.get("baseline")
    if baseline is None:
        if features.dtype == object:
            raise MonitoringError(
                "shap.baseline is missing and some features are not numbers: Clarify's K-prototypes baseline is not "
                "computed locally; give baseline rows (SHAPConfig(baseline=[[...]]))"
            )
        clusters = _whole(config.get("num_clusters", DEFAULT_CLUSTERS), "num_clusters", least=1)
        return shap.kmeans(features, min(clusters, len(features)))
    shown = "shap.baseline"
    if isinstance(baseline, str) and baseline.startswith("s3://"):
        if baseline_file is None:
            raise MonitoringError(f"shap.baseline {baseline} was not staged for the job: no file of its rows")
        rows, shown = rows_of_file(baseline_file, baseline, names), f"shap.baseline {baseline}"
    elif not isinstance(baseline, list) or not baseline:
        raise MonitoringError(
            f"shap.baseline {str(baseline)[:80]} is not read locally: give its rows (SHAPConfig(baseline=[[...]])) "
            "or the S3 URI of a CSV file of them"
        )
    else:
        rows = [row if isinstance(row, list) else [row] for row in baseline]
    for number, row in enumerate(rows, start=1):
        if len(row) != len(names):
            raise MonitoringError(
                f"{shown} row {number} has {len(row)} values, the model's features are {len(names)} "
                f"({', '.join(names)}): a baseline row holds the features alone, without the label"
            )
    if features.dtype != object:
        try:
            return np.asarray(rows, dtype=float)
        except ValueError as exc:
            raise MonitoringError(f"{shown} holds a value that is not a number: {exc}") from None
    return np.asarray(rows, dtype=object)


def _num_samples(given: object, count: int) -> int | str:
    if given is None:
        return "auto"
    samples = _whole(given, "num_samples", least=1)
    least = min(count + 1, max(2**count - 2, 1))
    if samples < least:
        raise MonitoringError(
            f"shap.num_samples {samples} is too few for {count} features: KernelSHAP fits one value per feature "
            f"from that many coalitions of them; give at least {least} (none: {2 * count + 2048})"
        )
    return samples


def _whole(value: object, field: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise MonitoringError(f"shap.{field} {value!r} must be a whole number of at least {least}")
    return value
