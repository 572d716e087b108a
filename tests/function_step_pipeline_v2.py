"""Pipelines of ``@step`` functions written for the SageMaker Python SDK v2 (``sagemaker.workflow.function_step.step``),
in the style of AWS's examples: built in the SDK v2 environment by tests/test_function_steps_v2.py, with ``showcase
run -n tests.function_step_pipeline_v2`` or by ``python -m tests.function_step_pipeline_v2`` run with that
environment's Python against the local API (``AWS_ENDPOINT_URL``), which publishes, starts and reads
``execution.result`` as a notebook does.

``variant`` picks the pipeline:

- ``chain``: ``prepare(rows)`` (with ``dependencies=`` a requirements.txt in ``requirements_dir`` asking for the
  SDK v2; it also reports the SDK a ``python`` subprocess imports, and the exit of ``pip install -r`` of that
  file) -> ``summarize(prepared)`` -> a ConditionStep reading ``summary["total"]`` (a ``Std:JsonGet`` over
  summarize's ``results.json``) against ``MinimumTotal`` -> ``report(summary)`` or a FailStep;
- ``raises``: one function that raises ValueError, and one whose requirements.txt asks for the SDK v3.

The functions are defined inside ``get_pipeline`` so that cloudpickle carries them by value, as a notebook's are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/function-steps"
IMAGE = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"
OPTIONS = {"instance_type": "ml.m5.large", "role": ROLE, "image_uri": IMAGE}
REQUIREMENTS = {"chain": "sagemaker>=2.256,<3\n", "raises": "sagemaker>=3\n"}
"""What ``<requirements_dir>/<variant>/requirements.txt`` asks for (the test writes them): the SDK v2 environment
meets the first and the project's environment the second, not the other way round."""


def get_pipeline(variant: str = "chain", requirements_dir: str = "", region: str = "us-east-1") -> Any:
    import boto3
    from sagemaker.workflow.parameters import ParameterInteger
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=region)
    session = PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket="function-steps-bucket",
    )
    requirements = Path(requirements_dir) / variant / "requirements.txt"
    minimum = ParameterInteger(name="MinimumTotal", default_value=10)
    steps = _chain(str(requirements), minimum) if variant == "chain" else _raises(str(requirements))
    return Pipeline(
        name=f"functions-v2-{variant}",
        parameters=[minimum] if variant == "chain" else [],
        steps=steps,
        sagemaker_session=session,
    )


def _chain(requirements: str, minimum: Any) -> list[Any]:
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.function_step import step

    @step(name="prepare", dependencies=requirements, **OPTIONS)
    def prepare(rows: int) -> dict[str, Any]:
        import subprocess

        import sagemaker

        version = "import sagemaker; print(sagemaker.__version__)"
        python = subprocess.run(["python", "-c", version], capture_output=True, text=True, check=True)
        pip = subprocess.run(["pip", "install", "-r", requirements], capture_output=True, text=True)
        return {
            "values": [index * index for index in range(rows)],
            "rows": rows,
            "sdk": sagemaker.__version__,
            "python": python.stdout.split()[-1],  # after what the SDK v2 says of its config on import
            "pip": pip.returncode,
        }

    @step(name="summarize", **OPTIONS)
    def summarize(prepared: dict[str, Any]) -> dict[str, Any]:
        return {"total": sum(prepared["values"]), "rows": prepared["rows"]}

    @step(name="report", **OPTIONS)
    def report(summary: dict[str, Any]) -> str:
        return f"{summary['rows']} rows, total {summary['total']}"

    summary = summarize(prepare(5))
    check = ConditionStep(
        name="check-total",
        conditions=[ConditionGreaterThanOrEqualTo(left=summary["total"], right=minimum)],
        if_steps=[report(summary)],
        else_steps=[FailStep(name="too-small", error_message="the total is below MinimumTotal")],
    )
    return [check]


def _raises(requirements: str) -> list[Any]:
    from sagemaker.workflow.function_step import step

    @step(name="validate", **OPTIONS)
    def validate(rows: int) -> int:
        if rows < 1:
            raise ValueError(f"the data has {rows} rows; at least 1 is needed")
        return rows

    @step(name="unmet", dependencies=requirements, **OPTIONS)
    def unmet() -> str:
        return "never"

    return [validate(0), unmet()]


def main(variant: str, requirements_dir: str) -> None:
    """Publish, start, wait and read each @step's result through AWS_ENDPOINT_URL; print one JSON document."""
    from sagemaker.remote_function.errors import RemoteFunctionError

    from tests.function_step_results import publish_run_and_print_results

    publish_run_and_print_results(get_pipeline(variant, requirements_dir), ROLE, RemoteFunctionError)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
