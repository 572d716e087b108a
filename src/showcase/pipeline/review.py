"""4. Review the test MSE: register the model, or 4b. fail stating the MSE and the threshold."""

from __future__ import annotations

from typing import Any

from .shared import Parameters


def fail_step(params: Parameters, mse: Any) -> Any:
    """4b. Or fail, stating the MSE and the threshold."""
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.fail_step import FailStep

    return FailStep(
        name="FailOnMse",
        display_name="MSE above threshold",
        error_message=Join(
            on="",
            values=[
                "Test MSE ",
                mse,
                " is above the threshold MseThreshold=",
                params.mse_threshold,
                "; the model was not registered.",
            ],
        ),
    )


def review_step(params: Parameters, mse: Any, *, register: Any, fail: Any, after: list[str]) -> Any:
    """4. Review: register when the test MSE is at most MseThreshold, else fail (once the steps ``after`` ran)."""
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    return ConditionStep(
        name="ReviewMse",
        display_name="Review MSE",
        description="Register the model when its test MSE is at most MseThreshold, else fail.",
        conditions=[ConditionLessThanOrEqualTo(left=mse, right=params.mse_threshold)],
        if_steps=[register],
        else_steps=[fail],
        depends_on=after or None,
    )
