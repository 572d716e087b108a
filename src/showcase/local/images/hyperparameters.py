"""The built-in XGBoost algorithm's hyperparameters, checked as its container checks them.

Values arrive as strings (numbers from pipeline parameters are accepted too); messages follow the
container's (``Missing required hyperparameter: num_round``, ``Extraneous hyperparameter found: x``,
``Hyperparameter eta: 2.0 is not in [0, 1]``). ``reg:linear`` is the deprecated alias of
``reg:squarederror`` and is trained as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from showcase.errors import ShowcaseError


class HyperparameterError(ShowcaseError):
    """A hyperparameter the XGBoost container would reject (its UserError)."""


@dataclass(frozen=True)
class Interval:
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def __str__(self) -> str:
        low = "(-inf" if self.low is None else f"{'(' if self.low_open else '['}{self.low:g}"
        high = "+inf)" if self.high is None else f"{self.high:g}{')' if self.high_open else ']'}"
        return f"{low}, {high}"


@dataclass(frozen=True)
class Spec:
    parse: Callable[[str], Any]
    allowed: Interval | tuple[str, ...] | None = None


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _text(text: str) -> str:
    return text


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def _at_least(low: float, *, open_: bool = False) -> Interval:
    return Interval(low=low, low_open=open_)


_UNIT = Interval(0, 1)
_FRACTION = Interval(0, 1, low_open=True)
OBJECTIVES = (
    "binary:hinge", "binary:logistic", "binary:logitraw", "count:poisson", "multi:softmax", "multi:softprob",
    "rank:map", "rank:ndcg", "rank:pairwise", "reg:absoluteerror", "reg:gamma", "reg:linear", "reg:logistic",
    "reg:pseudohubererror", "reg:quantileerror", "reg:squarederror", "reg:squaredlogerror", "reg:tweedie",
    "survival:aft", "survival:cox",
)  # fmt: skip
METRICS = (
    "auc", "aucpr", "error", "logloss", "mae", "map", "merror", "mlogloss", "mape", "mphe", "ndcg", "rmse",
    "rmsle", "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik", "cox-nloglik",
    "aft-nloglik", "interval-regression-accuracy", "pre",
)  # fmt: skip
SPECS: dict[str, Spec] = {
    "num_round": Spec(_int, _at_least(1)),
    "early_stopping_rounds": Spec(_int, _at_least(1)),
    "csv_weights": Spec(_int, Interval(0, 1)),
    "booster": Spec(_text, ("gbtree", "gblinear", "dart")),
    "verbosity": Spec(_int, Interval(0, 3)),
    "nthread": Spec(_int, _at_least(1)),
    "eta": Spec(_float, _UNIT),
    "gamma": Spec(_float, _at_least(0)),
    "max_depth": Spec(_int, _at_least(0)),
    "min_child_weight": Spec(_float, _at_least(0)),
    "max_delta_step": Spec(_float, _at_least(0)),
    "subsample": Spec(_float, _FRACTION),
    "colsample_bytree": Spec(_float, _FRACTION),
    "colsample_bylevel": Spec(_float, _FRACTION),
    "colsample_bynode": Spec(_float, _FRACTION),
    "lambda": Spec(_float, _at_least(0)),
    "alpha": Spec(_float, _at_least(0)),
    "tree_method": Spec(_text, ("auto", "exact", "approx", "hist")),
    "sketch_eps": Spec(_float, Interval(0, 1, low_open=True, high_open=True)),
    "scale_pos_weight": Spec(_float, _at_least(0, open_=True)),
    "grow_policy": Spec(_text, ("depthwise", "lossguide")),
    "max_leaves": Spec(_int, _at_least(0)),
    "max_bin": Spec(_int, _at_least(0)),
    "num_parallel_tree": Spec(_int, _at_least(1)),
    "sample_type": Spec(_text, ("uniform", "weighted")),
    "normalize_type": Spec(_text, ("tree", "forest")),
    "rate_drop": Spec(_float, _UNIT),
    "one_drop": Spec(_int, Interval(0, 1)),
    "skip_drop": Spec(_float, _UNIT),
    "tweedie_variance_power": Spec(_float, Interval(1, 2, low_open=True, high_open=True)),
    "objective": Spec(_text, OBJECTIVES),
    "num_class": Spec(_int, _at_least(2)),
    "base_score": Spec(_float, _at_least(0)),
    "eval_metric": Spec(_comma_list, METRICS),
    "seed": Spec(_int, Interval(-(2**31), 2**31 - 1, low_open=True, high_open=True)),
    "monotone_constraints": Spec(_text),
    "interaction_constraints": Spec(_text),
    "aft_loss_distribution": Spec(_text, ("normal", "logistic", "extreme")),
    "aft_loss_distribution_scale": Spec(_float, _at_least(0, open_=True)),
    "huber_slope": Spec(_float, _at_least(0, open_=True)),
    "quantile_alpha": Spec(_float, _FRACTION),
}
# Read by the container itself, not passed to xgboost.train's params.
CONTAINER_ONLY = frozenset({"num_round", "early_stopping_rounds", "csv_weights"})
DEFAULTS = {"seed": 0}  # as the container; same data and hyperparameters then give the same model


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and check ``raw`` hyperparameters; return typed values (defaults filled in)."""
    if "num_round" not in raw:
        raise HyperparameterError("Missing required hyperparameter: num_round")
    values: dict[str, Any] = dict(DEFAULTS)
    for name, given in raw.items():
        spec = SPECS.get(name)
        if spec is None:
            raise HyperparameterError(f"Extraneous hyperparameter found: {name}")
        text = str(given).lower() if isinstance(given, bool) else str(given)
        try:
            value = spec.parse(text)
        except ValueError:
            raise HyperparameterError(f"Hyperparameter {name}: could not parse value {text!r}") from None
        _check_range(name, value, spec.allowed)
        values[name] = value
    _check_dependencies(values)
    if values.get("objective") == "reg:linear":
        values["objective"] = "reg:squarederror"  # the deprecated alias, as the container maps it
    return values


def _check_range(name: str, value: Any, allowed: Interval | tuple[str, ...] | None) -> None:
    if allowed is None:
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(allowed, Interval):
            ok = item in allowed
        else:
            ok = item in allowed or (name == "eval_metric" and _metric_with_threshold(item))
        if not ok:
            shown = list(allowed) if isinstance(allowed, tuple) else str(allowed)
            raise HyperparameterError(f"Hyperparameter {name}: {value} is not in {shown}")


def _metric_with_threshold(metric: str) -> bool:
    name, at, threshold = metric.partition("@")
    if not at or name not in ("error", "ndcg", "map"):
        return False
    try:
        float(threshold)
    except ValueError:
        return False
    return True


def _check_dependencies(values: Mapping[str, Any]) -> None:
    objective = values.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in values:
        raise HyperparameterError("Require input for parameter 'num_class' for multi-classification")
    if "num_class" in values and not str(objective).startswith("multi:"):
        raise HyperparameterError(
            "Do not need to setup parameter 'num_class' for learning task other than multi-classification."
        )
    metrics = values.get("eval_metric") or []
    if "auc" in metrics and not str(objective).startswith(("binary:", "rank:")):
        raise HyperparameterError("Metric 'auc' can only be applied for classification and ranking problems.")


def booster_params(values: Mapping[str, Any], nthread: int) -> dict[str, Any]:
    """The ``params`` for ``xgboost.train``."""
    params = {name: value for name, value in values.items() if name not in CONTAINER_ONLY}
    params["nthread"] = min(int(params.get("nthread", nthread)), nthread)
    return params
