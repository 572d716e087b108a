"""SageMaker MLOps showcase: an Abalone XGBoost pipeline for SageMaker, and a local runtime for it."""

__version__ = "0.1.0"
