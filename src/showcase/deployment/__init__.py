"""Deployment glue that needs no AWS: the adjusted endpoint config and the post-deploy check."""

from showcase.deployment.check import DeploymentCheckFailed, verify_deployment
from showcase.deployment.config import (
    DEFAULT_ENDPOINT_NAME,
    EndpointConfig,
    adjusted_config,
    parse_endpoint_config,
)

__all__ = [
    "DEFAULT_ENDPOINT_NAME",
    "DeploymentCheckFailed",
    "EndpointConfig",
    "adjusted_config",
    "parse_endpoint_config",
    "verify_deployment",
]
