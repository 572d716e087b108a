"""The dashboard's view of an AWS account: SageMaker pipeline executions, model packages and endpoints.

The same ``showcase.dashboard.source.Source`` as the local one, read with boto3. What SageMaker keeps
elsewhere is said on the page rather than fetched: step logs live in CloudWatch Logs, endpoint request
counts and latency in CloudWatch metrics. Metrics documents and reports are read from S3.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from showcase.aws.boundary import aws_call, client
from showcase.aws.pipelines import step_report
from showcase.dashboard.source import (
    Conflict,
    Endpoint,
    Execution,
    Group,
    Monitoring,
    NotFound,
    Package,
    Unsupported,
    approval_conflict,
)
from showcase.errors import AwsError
from showcase.paging import paginate
from showcase.registry.approval import ApprovalRefused, Decision, set_approval
from showcase.reporting import StepReport
from showcase.statuses import TERMINAL, ApprovalStatus, ExecutionStatus

logger = logging.getLogger(__name__)
LOGS_ELSEWHERE = (
    "SageMaker keeps step logs in CloudWatch Logs (/aws/sagemaker/ProcessingJobs and /aws/sagemaker/TrainingJobs);"
    " the dashboard does not read them. The step's failure reason is shown above."
)


class AwsSource:
    def __init__(self, sagemaker: Any, s3: Any, region: str) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.region = region

    @classmethod
    def connect(cls, region: str | None = None) -> AwsSource:
        sagemaker = client("sagemaker", region=region)
        return cls(sagemaker, client("s3", region=region), sagemaker.meta.region_name)

    @property
    def title(self) -> str:
        return f"AWS · {self.region}"

    # -- executions ---------------------------------------------------------------------------------

    def _pages(self, operation: str, key: str, **request: Any) -> Iterator[dict[str, Any]]:
        call = getattr(self.sagemaker, operation)

        def page(**page_request: Any) -> dict[str, Any]:
            with aws_call(f"{operation} {request or ''}".strip()):
                answer: dict[str, Any] = call(**page_request)
            return answer

        return paginate(page, key, **request)

    def _execution_summaries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for pipeline in self._pages("list_pipelines", "PipelineSummaries"):
            name = pipeline["PipelineName"]
            for summary in self._pages("list_pipeline_executions", "PipelineExecutionSummaries", PipelineName=name):
                yield name, summary

    def executions(self) -> list[Execution]:
        found = [
            Execution(
                execution_id=summary["PipelineExecutionArn"].rsplit("/", 1)[-1],
                pipeline_name=name,
                status=summary.get("PipelineExecutionStatus", "Unknown"),
                start=summary.get("StartTime"),
                failure_reason=summary.get("PipelineExecutionFailureReason"),
            )
            for name, summary in self._execution_summaries()
        ]
        return sorted(found, key=lambda e: e.start.timestamp() if e.start else 0.0, reverse=True)

    def _execution_arn(self, execution_id: str) -> tuple[str, str]:
        for name, summary in self._execution_summaries():
            if summary["PipelineExecutionArn"].rsplit("/", 1)[-1] == execution_id:
                return name, summary["PipelineExecutionArn"]
        raise NotFound(f"no pipeline execution {execution_id!r} in {self.region}")

    def execution(self, execution_id: str) -> Execution:
        name, arn = self._execution_arn(execution_id)
        with aws_call(f"DescribePipelineExecution {arn}"):
            described = self.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        definition = None
        try:
            with aws_call(f"DescribePipelineDefinitionForExecution {arn}"):
                raw = self.sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)
            definition = json.loads(raw["PipelineDefinition"])
        except (AwsError, ValueError, KeyError) as exc:
            logger.warning("no definition for %s: %s", arn, exc)
        status = described.get("PipelineExecutionStatus", "Unknown")
        end = described.get("LastModifiedTime") if status in TERMINAL else None
        return Execution(
            execution_id=execution_id,
            pipeline_name=name,
            status=status,
            start=described.get("CreationTime"),
            end=end,
            failure_reason=described.get("FailureReason") or None,
            parameters=self._parameters(arn),
            steps=tuple(self._steps(arn)),
            definition=definition,
        )

    def _parameters(self, arn: str) -> dict[str, Any]:
        try:
            items = list(
                self._pages("list_pipeline_parameters_for_execution", "PipelineParameters", PipelineExecutionArn=arn)
            )
        except AwsError as exc:
            logger.warning("no parameters for %s: %s", arn, exc)
            return {}
        return {item["Name"]: item["Value"] for item in items}

    def _steps(self, arn: str) -> list[StepReport]:
        try:
            raw = list(self._pages("list_pipeline_execution_steps", "PipelineExecutionSteps", PipelineExecutionArn=arn))
        except AwsError as exc:  # moto does not implement it; a real account answers
            logger.warning("no steps for %s: %s", arn, exc)
            return []
        return [
            step_report(step)
            for step in reversed(raw)  # the API lists newest first
        ]

    def step_log(self, execution_id: str, step_name: str) -> str:
        found = self.execution(execution_id)
        if step_name not in {step.name for step in found.steps}:
            raise NotFound(f"execution {execution_id} has no step {step_name!r}")
        return LOGS_ELSEWHERE

    def waiting_callback(self, execution_id: str, step_name: str) -> dict[str, Any] | None:
        """None: the dashboard completes only local Callback steps (SageMaker's are completed by their consumer)."""
        return None

    def complete_callback(
        self, execution_id: str, step_name: str, outputs: dict[str, str], failure: str | None
    ) -> None:
        raise Unsupported("completing a SageMaker Callback step is its queue consumer's work, not the dashboard's")

    def retry(self, execution_id: str) -> None:
        found = self.execution(execution_id)
        if found.status != ExecutionStatus.FAILED:
            raise Conflict(f"execution {execution_id} is {found.status}; only a Failed execution can be retried")
        _, arn = self._execution_arn(execution_id)
        with aws_call(f"RetryPipelineExecution {arn}"):
            self.sagemaker.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))

    # -- models -------------------------------------------------------------------------------------

    def groups(self) -> list[Group]:
        found = []
        for summary in self._pages("list_model_package_groups", "ModelPackageGroupSummaryList"):
            name = summary["ModelPackageGroupName"]
            packages = list(self._pages("list_model_packages", "ModelPackageSummaryList", ModelPackageGroupName=name))
            approved = sum(1 for p in packages if p.get("ModelApprovalStatus") == ApprovalStatus.APPROVED)
            found.append(Group(name, summary.get("CreationTime"), len(packages), approved))
        return found

    def _summaries(self, group: str) -> list[dict[str, Any]]:
        try:
            with aws_call(f"DescribeModelPackageGroup {group}"):
                self.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        except AwsError:
            raise NotFound(f"no model package group {group!r} in {self.region}") from None
        return list(self._pages("list_model_packages", "ModelPackageSummaryList", ModelPackageGroupName=group))

    def packages(self, group: str) -> list[Package]:
        summaries = sorted(self._summaries(group), key=lambda s: int(s.get("ModelPackageVersion") or 0), reverse=True)
        return [self._describe(s["ModelPackageArn"]) for s in summaries]

    def package(self, group: str, version: int) -> Package:
        for summary in self._summaries(group):
            if int(summary.get("ModelPackageVersion") or 0) == version:
                return self._describe(summary["ModelPackageArn"])
        raise NotFound(f"model package {group}/{version} does not exist in {self.region}")

    def _describe(self, arn: str) -> Package:
        with aws_call(f"DescribeModelPackage {arn}"):
            described = self.sagemaker.describe_model_package(ModelPackageName=arn)
        containers = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
        metadata = dict(described.get("CustomerMetadataProperties") or {})
        statistics = ((described.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}
        return Package(
            group=described["ModelPackageGroupName"],
            version=int(described.get("ModelPackageVersion") or 0),
            arn=arn,
            status=described.get("ModelApprovalStatus", "Unknown"),
            created=described.get("CreationTime"),
            metrics=self._json(statistics.get("S3Uri")),
            description=described.get("ModelPackageDescription"),
            approval_description=described.get("ApprovalDescription") or None,
            model_data_url=containers[-1].get("ModelDataUrl"),
            report_uri=metadata.get("EvaluationReport"),
            metadata=metadata,
        )

    def _object(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        with aws_call(f"GetObject {uri}"):
            body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def _json(self, uri: str | None) -> dict[str, Any] | None:
        if not uri or not uri.startswith("s3://"):
            return None
        try:
            document = json.loads(self._object(uri))
        except (AwsError, ValueError) as exc:
            logger.warning("cannot read the metrics %s: %s", uri, exc)
            return None
        return document if isinstance(document, dict) else None

    def report(self, group: str, version: int) -> bytes:
        found = self.package(group, version)
        if not found.report_uri or not found.report_uri.startswith("s3://"):
            raise NotFound(f"model package {found.ref} names no EvaluationReport")
        try:
            return self._object(found.report_uri)
        except AwsError as exc:
            raise NotFound(f"the report of {found.ref} cannot be read: {exc}") from None

    def set_status(self, group: str, version: int, status: str, description: str, *, force: bool) -> Decision:
        arn = self.package(group, version).arn
        try:
            with aws_call(f"UpdateModelPackage {arn}"):
                decision = set_approval(self.sagemaker, arn, status, description, force=force)
        except ApprovalRefused as exc:
            raise approval_conflict(exc) from None
        return decision

    # -- endpoints ----------------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(name=e["EndpointName"], status=e.get("EndpointStatus", "Unknown"), model_package_arn=None)
            for e in self._pages("list_endpoints", "Endpoints")
        ]

    def endpoint(self, name: str) -> Endpoint:
        try:
            with aws_call(f"DescribeEndpoint {name}"):
                described = self.sagemaker.describe_endpoint(EndpointName=name)
        except AwsError:
            raise NotFound(f"no endpoint {name!r} in {self.region}") from None
        note = (
            "Monitoring runs here are Model Monitor executions of the endpoint's schedule: their reports are in S3 "
            "(the job definition's MonitoringOutputs) and in SageMaker Studio; this page does not show them."
        )
        return Endpoint(
            name=name,
            status=described.get("EndpointStatus", "Unknown"),
            model_package_arn=None,
            monitoring=Monitoring(note=note),
        )

    def monitoring_report(self, name: str, run_id: str) -> bytes:
        raise Unsupported("monitoring reports of AWS endpoints are in S3 and SageMaker Studio, not shown here")

    def promote(self, name: str, target: str, approver: str, comment: str) -> str:
        raise Unsupported(
            "promotions between AWS endpoints go through the deploy workflow's production environment and its reviewers"
        )
