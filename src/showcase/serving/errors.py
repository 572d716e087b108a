"""Errors of the local endpoint (kept in the package: only serving raises them).

    ShowcaseError
    └── ServingError              the local endpoint cannot be deployed, started or reached
        ├── ModelLoadError        a model archive or model file XGBoost cannot load (carries model_package_arn)
        ├── EndpointNotRunning    no live server for an endpoint name (carries endpoint_name)
        ├── DeploymentRolledBack  an update rolled back by itself: an alarm, its timeout, an interruption
        │                         (serving.rollout; carries endpoint_name, reason)
        └── PromotionNotApproved  a promotion to an endpoint nobody approved yet (carries model_package_arn, stage)

A request the endpoint refuses is not an exception of this tree: it is ``codec.RequestError``, an HTTP status
and a message, turned into a response by the app.
"""

from __future__ import annotations

from showcase.errors import ShowcaseError


class ServingError(ShowcaseError):
    """The local endpoint cannot be deployed, started, stopped or reached."""


class ModelLoadError(ServingError):
    """A model package's archive or its ``xgboost-model`` cannot be loaded; nothing was deployed."""

    def __init__(self, message: str, *, model_package_arn: str = "") -> None:
        super().__init__(message)
        self.model_package_arn = model_package_arn


class EndpointNotRunning(ServingError):
    """No live server answers for an endpoint name."""

    def __init__(self, endpoint_name: str, detail: str = "") -> None:
        super().__init__(
            f"endpoint {endpoint_name!r} is not running{detail}; "
            "start it with: showcase endpoint serve --config deploy/endpoint_config_adj.json"
        )
        self.endpoint_name = endpoint_name


class PromotionNotApproved(ServingError):
    """Promoting a package to an endpoint (its stage) that nobody approved it for: the target is left untouched."""

    def __init__(self, message: str, *, model_package_arn: str, stage: str) -> None:
        super().__init__(message)
        self.model_package_arn = model_package_arn
        self.stage = stage
