"""The resource types the local CloudFormation makes, and the API operations each one maps onto.

Each type's create-only properties (a change replaces the resource), what ``Ref`` returns and which attributes
``Fn::GetAtt`` reads are those of the type's CloudFormation schema (the suite checks them against cfn-lint's
copy of the schemas). A type is made, changed and deleted through the local API's own handlers for the same
operations a caller would use (CreateModel, CreateEndpoint, PutMetricAlarm, ...), so what a stack makes is what
``aws sagemaker describe-endpoint``, ``showcase-endpoint`` and the dashboard show.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceType:
    type_name: str
    service: str
    create: str
    delete: str
    name_property: str
    """The property that names the resource; CloudFormation generates the name when the template gives none."""
    arn_attribute: str
    """The attribute that holds the resource's ARN (read from the create operation's answer, else built)."""
    ref_attribute: str
    """What ``Ref`` returns: the ARN attribute, or the name."""
    create_only: frozenset[str]
    cfn_only: frozenset[str] = frozenset()
    """Properties CloudFormation takes that the create (or update) operation may not (left out when it does not)."""
    update: str | None = None
    """The operation that changes the resource in place; None when every property is create-only."""

    @property
    def attributes(self) -> frozenset[str]:
        """The attributes ``Fn::GetAtt`` may read."""
        return frozenset({self.name_property, self.arn_attribute})


def _sagemaker(type_name: str, noun: str, name: str, arn: str, create_only: set[str], **rest: object) -> ResourceType:
    return ResourceType(
        type_name=type_name,
        service="sagemaker",
        create=f"Create{noun}",
        delete=f"Delete{noun}",
        name_property=name,
        arn_attribute=arn,
        ref_attribute=arn,
        create_only=frozenset(create_only),
        **rest,  # type: ignore[arg-type]
    )


_JOB_DEFINITION_CREATE_ONLY = {
    "JobDefinitionName",
    "JobResources",
    "NetworkConfig",
    "RoleArn",
    "StoppingCondition",
    "Tags",
    "EndpointName",
}

TYPES: dict[str, ResourceType] = {
    kind.type_name: kind
    for kind in (
        _sagemaker(
            "AWS::SageMaker::Model",
            "Model",
            "ModelName",
            "ModelArn",
            {
                "ExecutionRoleArn",
                "EnableNetworkIsolation",
                "InferenceExecutionConfig",
                "PrimaryContainer",
                "ModelName",
                "VpcConfig",
                "Containers",
            },
        ),
        _sagemaker(
            "AWS::SageMaker::EndpointConfig",
            "EndpointConfig",
            "EndpointConfigName",
            "EndpointConfigArn",
            {
                "KmsKeyId",
                "AsyncInferenceConfig",
                "ExecutionRoleArn",
                "ShadowProductionVariants",
                "EnableNetworkIsolation",
                "ProductionVariants",
                "DataCaptureConfig",
                "ExplainerConfig",
                "MetricsConfig",
                "EndpointConfigName",
                "VpcConfig",
            },
        ),
        _sagemaker(
            "AWS::SageMaker::Endpoint",
            "Endpoint",
            "EndpointName",
            "EndpointArn",
            {"EndpointName"},
            cfn_only=frozenset(
                {"RetainAllVariantProperties", "ExcludeRetainedVariantProperties", "RetainDeploymentConfig"}
            ),
            update="UpdateEndpoint",
        ),
        _sagemaker(
            "AWS::SageMaker::DataQualityJobDefinition",
            "DataQualityJobDefinition",
            "JobDefinitionName",
            "JobDefinitionArn",
            _JOB_DEFINITION_CREATE_ONLY
            | {
                "DataQualityAppSpecification",
                "DataQualityBaselineConfig",
                "DataQualityJobInput",
                "DataQualityJobOutputConfig",
            },
            cfn_only=frozenset({"EndpointName"}),
        ),
        _sagemaker(
            "AWS::SageMaker::ModelQualityJobDefinition",
            "ModelQualityJobDefinition",
            "JobDefinitionName",
            "JobDefinitionArn",
            _JOB_DEFINITION_CREATE_ONLY
            | {
                "ModelQualityAppSpecification",
                "ModelQualityBaselineConfig",
                "ModelQualityJobInput",
                "ModelQualityJobOutputConfig",
            },
            cfn_only=frozenset({"EndpointName"}),
        ),
        _sagemaker(
            "AWS::SageMaker::MonitoringSchedule",
            "MonitoringSchedule",
            "MonitoringScheduleName",
            "MonitoringScheduleArn",
            {"MonitoringScheduleName"},
            cfn_only=frozenset(
                {"EndpointName", "FailureReason", "LastMonitoringExecutionSummary", "MonitoringScheduleStatus"}
            ),
            update="UpdateMonitoringSchedule",
        ),
        ResourceType(
            type_name="AWS::CloudWatch::Alarm",
            service="cloudwatch",
            create="PutMetricAlarm",
            delete="DeleteAlarms",
            name_property="AlarmName",
            arn_attribute="Arn",
            ref_attribute="AlarmName",
            create_only=frozenset({"AlarmName"}),
            update="PutMetricAlarm",
        ),
    )
}
