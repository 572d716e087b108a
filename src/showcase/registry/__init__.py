"""A local SageMaker Model Registry in one SQLite file, spoken to with boto3's method names and shapes."""

from showcase.registry.api import Registry

__all__ = ["Registry"]
