"""The built-in XGBoost image's hyperparameter rules, one table per image version.

Each table is what that version's container declares in aws/sagemaker-xgboost-container
(``src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py`` and the metric lists of
``constants/xgb_constants.py``, on the branch named after the version): the names it knows, how each is parsed,
its range or choices, and the aliases it accepts. A version differs from the one before it by what its branch
added or removed, which is how the tables are written below; versions whose rules are the same share one
(1.7-1 and 3.0-5). ``RULES`` maps an image tag's version to its table; ``hyperparameters.validate`` applies it.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


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
    """How one hyperparameter is parsed and what values it may take (an interval, or choices)."""

    parse: Callable[[str], Any]
    allowed: Interval | tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Rules:
    """One image version's hyperparameters: their specs, the eval metrics it accepts, its aliases."""

    specs: Mapping[str, Spec]
    metrics: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def changed(
        self,
        *,
        add: Mapping[str, Spec] | None = None,
        remove: tuple[str, ...] = (),
        metrics: frozenset[str] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> Rules:
        specs = {name: spec for name, spec in self.specs.items() if name not in remove} | dict(add or {})
        return Rules(specs, self.metrics if metrics is None else metrics, self.aliases if aliases is None else aliases)


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


def _literal_list(text: str) -> list[Any]:
    """``(1,0,-1)`` or ``[[0, 1], [2]]``: a Python literal, read without evaluating code."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(text) from exc
    if not isinstance(value, list | tuple):
        raise ValueError(text)
    return list(value)


def _at_least(low: float, *, open_: bool = False) -> Interval:
    return Interval(low=low, low_open=open_)


_UNIT = Interval(0, 1)
_FRACTION = Interval(0, 1, low_open=True)
_FLAG = ("true", "false")
_UPDATERS_0_90 = (
    "grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_skmaker", "sync", "refresh", "prune",
    "shotgun", "coord_descent",
)  # fmt: skip
_OBJECTIVES_0_90 = (
    "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
    "reg:tweedie", "survival:cox",
)  # fmt: skip
_UPDATERS_1_0 = (*_UPDATERS_0_90, "grow_quantile_histmaker")
_OBJECTIVES_1_2 = (
    *_OBJECTIVES_0_90, "reg:squaredlogerror", "reg:pseudohubererror", "survival:aft",
    "aft_loss_distribution",  # listed among the objectives by the 1.2-1 branch on, as the name of a choice
)  # fmt: skip
_METRICS_0_90 = frozenset(
    {"accuracy", "auc", "aucpr", "cox-nloglik", "f1", "gamma-nloglik", "map", "ndcg", "poisson-nloglik"}
    | {"tweedie-nloglik", "error", "gamma-deviance", "logloss", "mae", "merror", "mlogloss", "mse", "rmse"}
)
_METRICS_1_0 = _METRICS_0_90 | {"rmsle"}
_METRICS_1_2_1 = _METRICS_1_0 | {"r2", "aft-nloglik", "interval-regression-accuracy", "mphe"}
_METRICS_1_2_2 = _METRICS_1_2_1 | {"f1_binary", "f1_macro"}
_METRICS_1_3 = _METRICS_1_2_2 | {"balanced_accuracy", "precision", "precision_macro", "precision_micro", "recall"}
_METRICS_1_3 |= {"recall_macro", "recall_micro", "mape"}

V0_90_1 = Rules(
    {
        "num_round": Spec(_int, _at_least(1)),
        "csv_weights": Spec(_int, _UNIT),
        "early_stopping_rounds": Spec(_int, _at_least(1)),
        "booster": Spec(_text, ("gbtree", "gblinear", "dart")),
        "silent": Spec(_int, _UNIT),
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
        "updater": Spec(_comma_list, _UPDATERS_0_90),
        "dsplit": Spec(_text, ("row", "col")),
        "refresh_leaf": Spec(_int, _UNIT),
        "process_type": Spec(_text, ("default", "update")),
        "grow_policy": Spec(_text, ("depthwise", "lossguide")),
        "max_leaves": Spec(_int, _at_least(0)),
        "max_bin": Spec(_int, _at_least(0)),
        "predictor": Spec(_text, ("cpu_predictor",)),
        "sample_type": Spec(_text, ("uniform", "weighted")),
        "normalize_type": Spec(_text, ("tree", "forest")),
        "rate_drop": Spec(_float, _UNIT),
        "one_drop": Spec(_int, _UNIT),
        "skip_drop": Spec(_float, _UNIT),
        "lambda_bias": Spec(_float, _UNIT),
        "tweedie_variance_power": Spec(_float, Interval(1, 2, low_open=True, high_open=True)),
        "objective": Spec(_text, _OBJECTIVES_0_90),
        "num_class": Spec(_int, _at_least(2)),
        "base_score": Spec(_float, _at_least(0)),
        "_tuning_objective_metric": Spec(_text),
        "eval_metric": Spec(_comma_list),  # the version's metrics (Rules.metrics), or error/ndcg/map@threshold
        "seed": Spec(_int, Interval(-(2**31), 2**31 - 1, low_open=True, high_open=True)),
    },
    _METRICS_0_90,
)
V0_90_2 = V0_90_1.changed(
    add={"num_parallel_tree": Spec(_int, _at_least(1))},
    aliases={"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"},
)
V1_0_1 = V0_90_2.changed(
    add={
        "updater": Spec(_comma_list, _UPDATERS_1_0),
        "monotone_constraints": Spec(_literal_list, (-1, 0, 1)),
        "interaction_constraints": Spec(_literal_list, _at_least(1)),
        "objective": Spec(_text, (*_OBJECTIVES_0_90, "reg:squaredlogerror")),
        "save_model_on_termination": Spec(_text, _FLAG),
    },
    metrics=_METRICS_1_0,
)
V1_2_1 = V1_0_1.changed(
    remove=("silent",),
    add={
        "tree_method": Spec(_text, ("auto", "exact", "approx", "hist", "gpu_hist")),
        "predictor": Spec(_text, ("auto", "cpu_predictor", "gpu_predictor")),
        "_nfold": Spec(_int, _at_least(2)),
        "objective": Spec(_text, _OBJECTIVES_1_2),
        "aft_loss_distribution": Spec(_text, ("normal", "logistic", "extreme")),
        "aft_loss_distribution_scale": Spec(_float, _at_least(0)),
        "single_precision_histogram": Spec(_text, _FLAG),
        "deterministic_histogram": Spec(_text, _FLAG),
    },
    metrics=_METRICS_1_2_1,
)
V1_2_2 = V1_2_1.changed(
    remove=("_nfold",),
    add={"_kfold": Spec(_int, _at_least(2)), "_num_cv_round": Spec(_int, _at_least(1))},
    metrics=_METRICS_1_2_2,
)
V1_3_1 = V1_2_2.changed(
    add={
        "sampling_method": Spec(_text, ("uniform", "gradient_based")),
        "prob_buffer_row": Spec(_int, _at_least(1, open_=True)),
    },
    metrics=_METRICS_1_3,
)
V1_5_1 = V1_3_1.changed(add={"use_dask_gpu_training": Spec(_text, _FLAG)})
V1_7_1 = V1_5_1.changed(
    remove=("single_precision_histogram",),
    add={
        "updater": Spec(_comma_list, tuple(u for u in _UPDATERS_1_0 if u != "grow_local_histmaker")),
        "objective": Spec(_text, (*_OBJECTIVES_1_2, "reg:absoluteerror")),
    },
)
V3_2_0 = V1_7_1.changed(add={"device": Spec(_text, ("cpu", "cuda", "gpu"))})

RULES: Mapping[str, Rules] = {
    "0.90-1": V0_90_1,
    "0.90-2": V0_90_2,
    "1.0-1": V1_0_1,
    "1.2-1": V1_2_1,
    "1.2-2": V1_2_2,
    "1.3-1": V1_3_1,
    "1.5-1": V1_5_1,
    "1.7-1": V1_7_1,
    "3.0-5": V1_7_1,  # the master branch: 1.7-1's rules, reformatted
    "3.2-0": V3_2_0,  # the upgrade-xgboost-3.2.0 branch
}
"""Every version of the built-in image that SageMaker serves (the SDK's ``image_uri_config/xgboost.json``), by the
version its image tag starts with (``sagemaker-xgboost:1.0-1-cpu-py3``, ``sagemaker-xgboost:3.2-0``)."""
