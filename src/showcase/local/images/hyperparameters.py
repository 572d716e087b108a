"""The built-in XGBoost algorithm's hyperparameters, checked as the container of the step's image version checks them.

The rules are the version's table (``xgboost_versions.RULES``); the order of the checks is the container's
(``sagemaker_algorithm_toolkit/hyperparameter_validation.py``): aliases replaced (``learning_rate`` is ``eta``
from 0.90-2 on), ``num_round`` required, every name known, values parsed, ranges, then dependencies. Values arrive
as strings (numbers from pipeline parameters are accepted too); messages follow the container's (``Missing
required hyperparameter: num_round``, ``Extraneous hyperparameter found: silent``, ``Hyperparameter eta: 2.0 is
not in [0, 1]``).

The library is XGBoost 3.2 whatever the image: ``notes`` says in the job's log what it does with a name the
version accepts that 3.2 no longer uses (``silent``, ``predictor``, ...: left out of its parameters) and with
``reg:linear`` (trained as ``reg:squarederror``, its deprecated alias). What the local stand-in cannot do (the
container's cross-validation, a GPU, a metric the container computes itself) is refused in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from showcase.errors import ShowcaseError
from showcase.local.images.xgboost_versions import RULES, Interval, Rules
from showcase.serving.versions import image_version


class HyperparameterError(ShowcaseError):
    """A hyperparameter the XGBoost container would reject (its UserError), or one the stand-in cannot honour."""


CONTAINER_ONLY = frozenset(
    {"num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric", "save_model_on_termination"}
    | {"use_dask_gpu_training"}
)
"""Read by the container itself, not passed to ``xgboost.train``'s params."""
UNUSED_BY_XGBOOST = frozenset(
    {"silent", "predictor", "dsplit", "lambda_bias", "single_precision_histogram", "deterministic_histogram"}
    | {"prob_buffer_row"}
)
"""Names an older image passes to its XGBoost that 3.2 no longer reads ("Parameters: { ... } are not used")."""
NOT_LOCAL = {
    "_nfold": "the container's k-fold cross-validation is not run by the local stand-in",
    "_kfold": "the container's k-fold cross-validation is not run by the local stand-in",
    "_num_cv_round": "the container's k-fold cross-validation is not run by the local stand-in",
}
GPU_VALUES = {"tree_method": "gpu_hist", "predictor": "gpu_predictor", "device": ("cuda", "gpu")}
XGBOOST_METRICS = frozenset(
    {"auc", "aucpr", "error", "logloss", "mae", "map", "merror", "mlogloss", "mape", "mphe", "ndcg", "rmse"}
    | {"rmsle", "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik", "cox-nloglik"}
    | {"aft-nloglik", "interval-regression-accuracy"}
)
"""The eval metrics XGBoost itself computes; the container computes the others (accuracy, f1, r2, ...) itself."""
_ON_CPU = "the local stand-in trains on the CPU"
DEFAULTS = {"seed": 0}  # as the container; same data and hyperparameters then give the same model


def rules_for(image: str) -> Rules:
    """The rules of the image version ``image``'s tag names; HyperparameterError naming the supported ones."""
    version = image_version(image)
    rules = RULES.get(version or "")
    if rules is None:
        shown = f"version {version}" if version else "no version tag"
        raise HyperparameterError(
            f"image {image} has {shown}: the local stand-in for the built-in XGBoost algorithm knows versions "
            f"{', '.join(RULES)} (tag the image with one, e.g. sagemaker-xgboost:1.7-1)"
        )
    return rules


def version_problem(image: str) -> str | None:
    """Why ``image``'s version cannot be trained here, or None."""
    try:
        rules_for(image)
    except HyperparameterError as exc:
        return str(exc)
    return None


def validate(raw: Mapping[str, Any], image: str) -> dict[str, Any]:
    """Parse and check ``raw`` hyperparameters as the image ``image`` does; return typed values (defaults filled)."""
    rules = rules_for(image)
    given = {rules.aliases.get(name, name): value for name, value in raw.items()}
    if "num_round" not in given:
        raise HyperparameterError("Missing required hyperparameter: num_round")
    values: dict[str, Any] = dict(DEFAULTS)
    for name, value in given.items():
        spec = rules.specs.get(name)
        if spec is None:
            raise HyperparameterError(f"Extraneous hyperparameter found: {name}")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        try:
            values[name] = spec.parse(text)
        except ValueError:
            raise HyperparameterError(f"Hyperparameter {name}: could not parse value {text!r}") from None
    for name in given:
        allowed = rules.specs[name].allowed
        if name == "eval_metric":
            _check_metrics(values[name], rules.metrics)
        elif allowed is not None:
            _check_range(name, values[name], allowed)
    _check_dependencies(values)
    _check_local(values)
    return values


def _check_range(name: str, value: Any, allowed: Interval | tuple[Any, ...]) -> None:
    items = value if isinstance(value, list) else [value]
    items = [item for inner in items for item in (inner if isinstance(inner, list | tuple) else [inner])]
    if not all(item in allowed for item in items):
        shown = list(allowed) if isinstance(allowed, tuple) else str(allowed)
        raise HyperparameterError(f"Hyperparameter {name}: {value} is not in {shown}")


def _check_metrics(metrics: list[str], accepted: frozenset[str]) -> None:
    for metric in metrics:
        if not (metric in accepted or _metric_with_threshold(metric)):
            raise HyperparameterError(f"Hyperparameter eval_metric: {metrics} is not in {sorted(accepted)}")


def _metric_with_threshold(metric: str) -> bool:
    name, at, threshold = metric.partition("@")
    if not at:
        return False
    if name.strip() not in ("error", "ndcg", "map"):
        raise HyperparameterError(
            f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold should "
            "be one of these options: 'error', 'ndcg', 'map'."
        )
    try:
        float(threshold)
    except ValueError:
        raise HyperparameterError(f"Threshold value 't' in '{name}@t' expects float input.") from None
    return True


def _check_dependencies(values: Mapping[str, Any]) -> None:
    objective = values.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in values:
        raise HyperparameterError("Require input for parameter 'num_class' for multi-classification")
    metrics = values.get("eval_metric") or []
    if "auc" in metrics and not str(objective).startswith(("binary:", "rank:")):
        raise HyperparameterError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise HyperparameterError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    method = values.get("tree_method")
    if "monotone_constraints" in values and method not in ("exact", "hist"):
        raise HyperparameterError(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )
    if "interaction_constraints" in values and method not in ("exact", "hist", "approx"):
        raise HyperparameterError(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )


def _check_local(values: Mapping[str, Any]) -> None:
    """What the container accepts and the local stand-in cannot do: one line naming the hyperparameter."""
    for name, why in NOT_LOCAL.items():
        if name in values:
            raise HyperparameterError(f"Hyperparameter {name}: {why}; leave it out to train locally")
    for name, gpu in GPU_VALUES.items():
        if name in values and values[name] in (gpu if isinstance(gpu, tuple) else (gpu,)):
            raise HyperparameterError(f"Hyperparameter {name}: {values[name]} needs a GPU; {_ON_CPU}")
    if values.get("use_dask_gpu_training") == "true":
        raise HyperparameterError(f"Hyperparameter use_dask_gpu_training: true needs GPUs; {_ON_CPU}")
    computed = [m for m in values.get("eval_metric") or [] if m not in XGBOOST_METRICS and "@" not in m]
    if computed:
        raise HyperparameterError(
            f"Hyperparameter eval_metric: {', '.join(computed)} is computed by the container itself, not by XGBoost; "
            f"the local stand-in reports XGBoost's own metrics ({', '.join(sorted(XGBOOST_METRICS))})"
        )


def notes(values: Mapping[str, Any]) -> list[str]:
    """What XGBoost 3.2 does with these values where the image's own XGBoost did otherwise (for the job's log)."""
    found = []
    unused = sorted(name for name in values if name in UNUSED_BY_XGBOOST)
    if unused:
        found.append(f"XGBoost 3.2 does not use {', '.join(unused)} (removed from XGBoost since this image): left out")
    if values.get("objective") == "reg:linear":
        found.append("XGBoost 3.2 trains reg:linear as reg:squarederror (its deprecated alias)")
    return found


def booster_params(values: Mapping[str, Any], nthread: int) -> dict[str, Any]:
    """The ``params`` for ``xgboost.train``."""
    params = {
        name: value for name, value in values.items() if name not in CONTAINER_ONLY and name not in UNUSED_BY_XGBOOST
    }
    if params.get("objective") == "reg:linear":
        params["objective"] = "reg:squarederror"  # the deprecated alias, as XGBoost maps it
    if "monotone_constraints" in params:  # XGBoost reads both as text: "(1,0,-1)", "[[0, 1], [2]]"
        params["monotone_constraints"] = "(" + ",".join(str(int(v)) for v in params["monotone_constraints"]) + ")"
    if "interaction_constraints" in params:
        params["interaction_constraints"] = str(params["interaction_constraints"])
    params["nthread"] = min(int(params.get("nthread", nthread)), nthread)
    return params
