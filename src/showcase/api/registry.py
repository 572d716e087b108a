"""The model registry and models: ``showcase.registry.Registry`` already speaks boto3's names and shapes.

Each operation calls the Registry method of the same name with the request's parameters. A parameter the method
does not take is refused by name (ValidationException) rather than ignored; a RegistryError ("... does not
exist", a bad status) is SageMaker's ValidationException, as ``errors.from_showcase_error`` makes it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from showcase.api.errors import validation
from showcase.api.state import Call, Handler
from showcase.registry import Registry

_IGNORED = frozenset({"ClientToken"})
"""Idempotency tokens botocore fills in; the local registry's writes are single transactions anyway."""
_OPERATIONS = {
    "CreateModelPackageGroup": "create_model_package_group",
    "DescribeModelPackageGroup": "describe_model_package_group",
    "ListModelPackageGroups": "list_model_package_groups",
    "CreateModelPackage": "create_model_package",
    "DescribeModelPackage": "describe_model_package",
    "ListModelPackages": "list_model_packages",
    "UpdateModelPackage": "update_model_package",
    "CreateModel": "create_model",
    "DescribeModel": "describe_model",
    "DeleteModel": "delete_model",
}


def _accepted(method: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword names a Registry method takes; None when it takes any (``**request``)."""
    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _handler(operation: str, method_name: str) -> Handler:
    accepted = _accepted(getattr(Registry, method_name))

    def handle(call: Call) -> dict[str, Any]:
        params = dict(call.params)
        if accepted is not None:
            params = {key: value for key, value in params.items() if key not in _IGNORED or key in accepted}
            refused = sorted(set(params) - accepted)
            if refused:
                raise validation(f"{operation}: the local registry does not support {', '.join(refused)}")
        result: dict[str, Any] = getattr(call.state.registry, method_name)(**params)
        return result

    handle.__name__ = method_name
    return handle


OPERATIONS: dict[str, Handler] = {operation: _handler(operation, name) for operation, name in _OPERATIONS.items()}
