"""The one block every definition build runs in: the SDK neither fails for want of AWS nor reaches it.

``offline_build(region)`` is what a pipeline module wraps its own build in (``showcase.pipeline`` does), so
that calling ``get_pipeline`` anywhere builds offline: the SDK gets a region (``AWS_DEFAULT_REGION``, unless
one is set) and skips its IAM check of the role (``SAGEMAKER_VALIDATE_ROLE``, unless set); clients made while
building never probe the EC2 instance-metadata endpoint for credentials (``AWS_EC2_METADATA_DISABLED``); the
SDK's telemetry sender (which reaches the network outside botocore) does nothing; its warning that no job
starts within a ``PipelineSession`` is silenced, since building is the point.

``offline_build(region, answer_locally=LocalBuild(...))`` is the local build the CLI makes of any module, one
written for SageMaker included (its own ``boto3.Session``, ``PipelineSession`` and clients, some made at
import): the block is entered *before* the module is imported, and on top of the above the user's AWS
settings are replaced (placeholder credentials; their own, their profile, config files, session token and
endpoint hidden; the region forced), and every botocore client created meanwhile answers locally
(``showcase.builder.answers``) through botocore's ``before-parameter-build`` and ``before-call`` events. A
refused call that ends the build becomes one ``UsageError`` naming the calls.

Everything the block changes is put back when it ends (the package's docstring lists each change); the
variables it forces are no inputs of the build (``recording.pin``): a user's credentials, which a local
build never lets the module see, do not make the build cache build again. A block inside another (the
pipeline's own inside the CLI's local build) changes nothing more: the outer block already holds.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from showcase.builder import recording
from showcase.builder.answers import REFUSED_CODE, LocalBuild
from showcase.builder.environment import scoped_environment
from showcase.errors import UsageError

_FORCED = {"AWS_EC2_METADATA_DISABLED": "true", "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
"""Set for any build. The SDK v2 warns at import, on stdout and stderr, that v3 follows it: the build is
what the module asks for, in the SDK it is written for."""

# Set for a local build. Credentials are placeholders: a local build must never sign with the user's real
# ones, nor look for them (profile, SSO, instance metadata).
_LOCAL = {
    **_FORCED,
    "AWS_ACCESS_KEY_ID": "local-build",
    "AWS_SECRET_ACCESS_KEY": "local-build",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_HIDDEN = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")
"""Unset for a local build."""

_builds: list[LocalBuild | None] = []
"""The block in force (at most one): its local build, or None for an offline build only."""


def _environment(region: str, local: bool) -> dict[str, str | None]:
    """The variables the block sets (``None``: unsets)."""
    if local:
        return {**_LOCAL, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, **dict.fromkeys(_HIDDEN)}
    defaults = {"AWS_DEFAULT_REGION": region, "SAGEMAKER_VALIDATE_ROLE": "false"}
    return {**{name: value for name, value in defaults.items() if name not in os.environ}, **_FORCED}


@contextmanager
def offline_build(region: str, *, answer_locally: LocalBuild | None = None) -> Iterator[None]:
    """Build a definition inside this block (see the module's docstring); with ``answer_locally``, a local
    build whose uploads and refused calls that object records. One block at a time per process."""
    if _builds:
        if answer_locally is not None:
            raise RuntimeError("a local build cannot start inside another build")
        yield  # the outer block's changes hold, and they are at least these
        return
    local = answer_locally is not None
    changes = _environment(region, local)
    recording.pin(changes if local else _FORCED)
    _builds.append(answer_locally)
    try:
        with scoped_environment(changes), _telemetry_off(), _sdk_warning_ignored(), _answered_by(answer_locally):
            yield
    except Exception as exc:
        if answer_locally is not None and _refused_in(exc):
            refused = ", ".join(answer_locally.refused)
            raise UsageError(
                f"building the pipeline made AWS calls a local build cannot answer ({refused}); "
                "only S3 uploads, bucket checks, sts:GetCallerIdentity and iam:GetRole are answered locally: "
                "pass what the module looks up (a default bucket, a VPC) with -k/--kwargs"
            ) from None
        raise
    finally:
        _builds.pop()


_TELEMETRY = ("sagemaker.core.telemetry.telemetry_logging", "sagemaker.telemetry.telemetry_logging")
"""The SDK's telemetry sender: v3's, v2's (a build in the SDK v2 environment)."""


@contextmanager
def _telemetry_off() -> Iterator[None]:
    telemetry_logging = _sdk_module(_TELEMETRY)
    original = telemetry_logging._send_telemetry_request
    telemetry_logging._send_telemetry_request = _no_telemetry
    try:
        yield
    finally:
        telemetry_logging._send_telemetry_request = original


def _sdk_module(names: tuple[str, ...]) -> Any:
    """The first of ``names`` the installed SDK has."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return importlib.import_module(names[-1])


def _no_telemetry(*_args: Any, **_kwargs: Any) -> None:
    return None


@contextmanager
def _sdk_warning_ignored() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
        yield


class _Interceptor:
    """botocore event handlers registered on every client created while a local build is in force.

    The handlers stay on the clients (an SDK module keeps the clients it made at import time) and do
    nothing once no local build is in force.
    """

    active: LocalBuild | None = None
    _CONTEXT_KEY = "showcase_local_build"

    def parameters(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.active is not None:
            context[self._CONTEXT_KEY] = dict(params)

    def call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        build = self.active
        if build is None:
            return None
        service = model.service_model.service_id.hyphenize()
        status, parsed = build.answer(service, model.name, context.get(self._CONTEXT_KEY, {}))
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse("https://local-build.invalid", status, {}, None), parsed


_INTERCEPTOR = _Interceptor()
_ORIGINAL_CREATE_CLIENT = botocore.session.Session.create_client


def _create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _ORIGINAL_CREATE_CLIENT(self, *args, **kwargs)
    if _INTERCEPTOR.active is not None:
        client.meta.events.register("before-parameter-build", _INTERCEPTOR.parameters, "showcase-local-build-params")
        client.meta.events.register("before-call", _INTERCEPTOR.call, "showcase-local-build-call")
    return client


@contextmanager
def _answered_by(build: LocalBuild | None) -> Iterator[None]:
    """Every botocore client created in the block answers from ``build`` (None: clients are left alone)."""
    if build is None:
        yield
        return
    botocore.session.Session.create_client = _create_client
    _INTERCEPTOR.active = build
    try:
        yield
    finally:
        _INTERCEPTOR.active = None
        botocore.session.Session.create_client = _ORIGINAL_CREATE_CLIENT


def _refused_in(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError) and seen.response.get("Error", {}).get("Code") == REFUSED_CODE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
