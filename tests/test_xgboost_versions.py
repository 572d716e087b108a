"""Each version of the built-in XGBoost image checks hyperparameters as its own container does.

The cases are what aws/sagemaker-xgboost-container's branch for each version declares: for every supported
version, one hyperparameter it accepts and another version refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from showcase.errors import StepFailed
from showcase.local.images.hyperparameters import HyperparameterError, booster_params, notes, validate
from showcase.local.images.xgboost_versions import RULES
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_executors import BUCKET, _rows, make_context, training_arguments

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
ONE_ROUND = {"num_round": "1"}


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "store")
    for name, seed in (("train", 1), ("validation", 2)):
        features, label = _rows(seed, 200)
        lines = [",".join(f"{v:.6f}" for v in [y, *x]) for x, y in zip(features, label, strict=True)]
        store.put_bytes(f"{BUCKET}/exec/data/{name}/{name}.csv", "\n".join(lines).encode())
    return store


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def image(version: str) -> str:
    suffix = "-cpu-py3" if version < "1.2" else ""
    return f"{ECR}:{version}{suffix}"


# (version, a hyperparameter it accepts, a version that refuses it, that version's message)
ACCEPTED_HERE_REFUSED_THERE = [
    ("0.90-1", {"silent": "1"}, "1.2-1", "Extraneous hyperparameter found: silent"),
    ("0.90-2", {"learning_rate": "0.1"}, "0.90-1", "Extraneous hyperparameter found: learning_rate"),
    ("1.0-1", {"objective": "reg:squaredlogerror"}, "0.90-2", "Hyperparameter objective: reg:squaredlogerror is not"),
    ("1.2-1", {"aft_loss_distribution": "normal"}, "1.0-1", "Extraneous hyperparameter found: aft_loss_distribution"),
    ("1.2-2", {"single_precision_histogram": "true"}, "1.7-1", "Extraneous hyperparameter found: single_precision"),
    ("1.3-1", {"sampling_method": "uniform"}, "1.2-2", "Extraneous hyperparameter found: sampling_method"),
    ("1.5-1", {"use_dask_gpu_training": "false"}, "1.3-1", "Extraneous hyperparameter found: use_dask_gpu"),
    ("1.7-1", {"objective": "reg:absoluteerror"}, "1.5-1", "Hyperparameter objective: reg:absoluteerror is not"),
    ("3.0-5", {"eval_metric": "mape"}, "1.2-2", r"Hyperparameter eval_metric: \['mape'\] is not in"),
    ("3.2-0", {"device": "cpu"}, "3.0-5", "Extraneous hyperparameter found: device"),
]


def test_every_supported_version_has_a_case() -> None:
    assert sorted(version for version, *_ in ACCEPTED_HERE_REFUSED_THERE) == sorted(RULES)


@pytest.mark.parametrize(("version", "given", "other", "message"), ACCEPTED_HERE_REFUSED_THERE)
def test_a_version_accepts_what_another_refuses(version: str, given: dict[str, str], other: str, message: str) -> None:
    values = validate({**ONE_ROUND, **given}, image(version))
    assert set(given) <= set(values) or "eta" in values
    with pytest.raises(HyperparameterError, match=message):
        validate({**ONE_ROUND, **given}, image(other))


def test_the_1_0_1_template_hyperparameters_train_as_xgboost_3_2_does_and_the_log_says_so() -> None:
    values = validate({**ONE_ROUND, "silent": "0", "objective": "reg:linear"}, image("1.0-1"))
    params = booster_params(values, nthread=2)
    assert "silent" not in params and params["objective"] == "reg:squarederror"
    assert notes(values) == [
        "XGBoost 3.2 does not use silent (removed from XGBoost since this image): left out",
        "XGBoost 3.2 trains reg:linear as reg:squarederror (its deprecated alias)",
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"silent": "2"}, r"Hyperparameter silent: 2 is not in \[0, 1\]"),
        ({"monotone_constraints": "(1,0)"}, "monotone_constraints can be used only when the tree_method"),
        ({"eval_metric": "aft-nloglik"}, "Extraneous|is not in"),
        ({"tree_method": "gpu_hist"}, r"Hyperparameter tree_method: gpu_hist is not in"),
        ({"eval_metric": "accuracy"}, "accuracy is computed by the container itself"),
        ({"eval_metric": "pre@2"}, "Metric 'pre@2' is not supported"),
    ],
)
def test_the_1_0_1_rules_and_what_the_stand_in_cannot_do(given: dict[str, str], message: str) -> None:
    with pytest.raises(HyperparameterError, match=message):
        validate({**ONE_ROUND, **given}, image("1.0-1"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"tree_method": "gpu_hist"}, "gpu_hist needs a GPU; the local stand-in trains on the CPU"),
        ({"_kfold": "3"}, "Hyperparameter _kfold: the container's k-fold cross-validation is not run"),
        ({"eval_metric": "aft-nloglik"}, "Metric 'aft-nloglik' can only be applied for 'survival:aft'"),
    ],
)
def test_the_1_7_1_rules_and_what_the_stand_in_cannot_do(given: dict[str, str], message: str) -> None:
    with pytest.raises(HyperparameterError, match=message):
        validate({**ONE_ROUND, **given}, image("1.7-1"))


def test_constraints_are_read_as_literals_and_handed_to_xgboost_as_text() -> None:
    values = validate(
        {**ONE_ROUND, "tree_method": "hist", "monotone_constraints": "(1,0,-1)", "interaction_constraints": "[[1, 2]]"},
        image("1.7-1"),
    )
    params = booster_params(values, nthread=1)
    assert params["monotone_constraints"] == "(1,0,-1)" and params["interaction_constraints"] == "[[1, 2]]"
    with pytest.raises(HyperparameterError, match="could not parse value"):
        validate({**ONE_ROUND, "tree_method": "hist", "monotone_constraints": "__import__('os')"}, image("1.7-1"))


@pytest.mark.parametrize("uri", [f"{ECR}:0.72-1", f"{ECR}:latest", ECR])
def test_an_unknown_version_is_refused_before_the_run_naming_the_supported_ones(uri: str) -> None:
    arguments = training_arguments()
    arguments["AlgorithmSpecification"]["TrainingImage"] = uri
    (problem,) = STEP_TYPES["Training"].executor.problems(arguments)
    assert problem.startswith(f"image {uri} has ")
    assert "knows versions 0.90-1, 0.90-2, 1.0-1, 1.2-1, 1.2-2, 1.3-1, 1.5-1, 1.7-1, 3.0-5, 3.2-0" in problem


def test_a_1_0_1_training_job_with_silent_and_reg_linear_trains_and_pickles(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    arguments = training_arguments({"num_round": "3", "silent": "0", "objective": "reg:linear"})
    arguments["AlgorithmSpecification"]["TrainingImage"] = image("1.0-1")
    context = make_context(tmp_path, store, registry, "Training", arguments)
    properties = STEP_TYPES["Training"].executor.run(context)
    log = context.log.getvalue()  # type: ignore[attr-defined]
    assert "XGBoost 3.2 does not use silent" in log and "trains reg:linear as reg:squarederror" in log
    assert "saved xgboost-model with pickle" in log
    assert properties["HyperParameters"]["silent"] == "0"


def test_a_1_0_1_training_job_with_silent_fails_on_1_7_1(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    arguments = training_arguments({"num_round": "3", "silent": "0"})
    arguments["AlgorithmSpecification"]["TrainingImage"] = image("1.7-1")
    context = make_context(tmp_path, store, registry, "Training", arguments)
    with pytest.raises(StepFailed, match="ClientError: Extraneous hyperparameter found: silent"):
        STEP_TYPES["Training"].executor.run(context)
