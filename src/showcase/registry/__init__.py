"""A local SageMaker Model Registry in one SQLite file, spoken to with boto3's method names and shapes."""

from showcase.registry.api import Registry
from showcase.registry.models import APPROVAL_STATUSES

__all__ = ["APPROVAL_STATUSES", "Registry"]
