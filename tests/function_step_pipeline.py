"""Pipelines of ``@step`` functions (SDK v3 ``sagemaker.mlops.workflow.function_step.step``), in the style of AWS's
examples: built by tests/test_function_steps.py with ``showcase run -n tests.function_step_pipeline`` (the SDK's own
PipelineSession, its uploads answered by the local build) and by ``python -m tests.function_step_pipeline`` against
the local API (``AWS_ENDPOINT_URL``), which publishes, starts and reads ``execution.result`` as a notebook does.

``variant`` picks the pipeline:

- ``chain``: ``prepare(rows)`` -> ``summarize(prepared)`` -> a ConditionStep reading ``summary["total"]`` (a
  ``Std:JsonGet`` over summarize's ``results.json``) against ``MinimumTotal`` -> ``report(summary)`` or a FailStep;
- ``raises``: one function that raises ValueError;
- ``dependencies``: ``met`` and ``unmet``, each with ``dependencies=`` a requirements.txt in ``requirements_dir``,
  and ``commands``, with ``pre_execution_commands``.

The functions are defined inside ``get_pipeline`` so that cloudpickle carries them by value, as a notebook's are:
the job needs nothing of this repository.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/function-steps"
IMAGE = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"
"""The SageMaker base Python image the SDK picks for a remote function on Python 3.11."""
BUCKET = "function-steps-bucket"


def _session(region: str) -> Any:
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"), default_bucket=BUCKET
    )


def get_pipeline(variant: str = "chain", requirements_dir: str = "", region: str = "us-east-1") -> Any:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    steps = {"chain": _chain, "raises": _raises, "dependencies": _dependencies}[variant](requirements_dir)
    return Pipeline(
        name=f"functions-{variant}",
        parameters=[parameter for parameter in [_minimum()] if variant == "chain"],
        steps=steps,
        sagemaker_session=_session(region),
    )


def _minimum() -> Any:
    from sagemaker.core.workflow.parameters import ParameterInteger

    return ParameterInteger(name="MinimumTotal", default_value=10)


def _chain(requirements_dir: str) -> list[Any]:
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.function_step import step

    options = {"instance_type": "ml.m5.large", "role": ROLE, "image_uri": IMAGE}

    @step(name="prepare", **options)
    def prepare(rows: int) -> dict[str, Any]:
        return {"values": [index * index for index in range(rows)], "rows": rows}

    @step(name="summarize", **options)
    def summarize(prepared: dict[str, Any]) -> dict[str, Any]:
        return {"total": sum(prepared["values"]), "rows": prepared["rows"]}

    @step(name="report", **options)
    def report(summary: dict[str, Any]) -> str:
        return f"{summary['rows']} rows, total {summary['total']}"

    summary = summarize(prepare(5))
    check = ConditionStep(
        name="check-total",
        conditions=[ConditionGreaterThanOrEqualTo(left=summary["total"], right=_minimum())],
        if_steps=[report(summary)],
        else_steps=[FailStep(name="too-small", error_message="the total is below MinimumTotal")],
    )
    return [check]


def _raises(requirements_dir: str) -> list[Any]:
    from sagemaker.mlops.workflow.function_step import step

    @step(name="validate", instance_type="ml.m5.large", role=ROLE, image_uri=IMAGE)
    def validate(rows: int) -> int:
        if rows < 1:
            raise ValueError(f"the data has {rows} rows; at least 1 is needed")
        return rows

    return [validate(0)]


def _dependencies(requirements_dir: str) -> list[Any]:
    from sagemaker.mlops.workflow.function_step import step

    options = {"instance_type": "ml.m5.large", "role": ROLE, "image_uri": IMAGE}
    directory = Path(requirements_dir)

    @step(name="met", dependencies=str(directory / "met" / "requirements.txt"), **options)
    def met() -> str:
        import packaging

        return packaging.__name__

    @step(name="unmet", dependencies=str(directory / "unmet" / "requirements.txt"), **options)
    def unmet() -> str:
        return "never"

    @step(name="commands", pre_execution_commands=["pip install --upgrade numpy"], **options)
    def commands() -> str:
        return "never"

    return [met(), unmet(), commands()]


def main(variant: str) -> None:
    """Publish, start, wait and read each @step's result through AWS_ENDPOINT_URL; print one JSON document."""
    from sagemaker.core.remote_function.errors import RemoteFunctionError

    from tests.function_step_results import publish_run_and_print_results

    publish_run_and_print_results(get_pipeline(variant), ROLE, RemoteFunctionError)


if __name__ == "__main__":
    main(sys.argv[1])
