"""Importing a pipeline module by name and calling its ``get_pipeline``: the definition and the code uploads.

``build_locally`` builds any module on this machine with no AWS at all (inside ``offline.offline_build`` with
local answers, entered before the module is imported); ``build_for_publishing`` builds it for SageMaker, where
the module may look things up with the user's own credentials. Both import the module with the working
directory on ``sys.path`` for the build (as ``python -m`` would find a module of the project the command runs
in), and take it off again after.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from showcase.builder import keywords
from showcase.builder.environment import scoped_environment
from showcase.errors import UsageError

LOCAL_ROLE_NAME = "showcase-local-execution"
LOCAL_BUCKET = "showcase-local"


@dataclass
class Built:
    """What a build gives: the pipeline's name, its definition and the objects to upload before it runs."""

    pipeline_name: str
    definition: dict[str, Any]
    uploads: dict[str, bytes]
    cached: bool = False
    """Taken from the build cache rather than built."""
    patched: tuple[str, ...] = ()
    """Files whose new content was patched into the cached definition instead of building it again."""
    rebuilt_because: str | None = None
    """Why the definition kept for this request was not used (None: there was none, or ``--rebuild``)."""


def import_pipeline_module(name: str) -> ModuleType:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"-n/--module-name {name!r}: cannot import it ({exc})") from None
    if not callable(getattr(module, "get_pipeline", None)):
        raise UsageError(f"-n/--module-name {name!r} has no get_pipeline(**kwargs) function")
    return module


def check_kwargs(module: ModuleType, kwargs: dict[str, Any]) -> None:
    """Reject keywords get_pipeline does not accept, values of the wrong type, and missing required ones, in one
    line (``keywords.check_kwargs``)."""
    keywords.check_kwargs(module.get_pipeline, kwargs, f"get_pipeline of {module.__name__}")


def build(module: ModuleType, kwargs: dict[str, Any]) -> Built:
    """Call get_pipeline; return the pipeline's name, its parsed definition and the deferred code uploads."""
    check_kwargs(module, kwargs)
    pipeline = module.get_pipeline(**kwargs)
    definition = json.loads(pipeline.definition())
    uploads = dict(getattr(pipeline.sagemaker_session, "pending_uploads", {}) or {})
    return Built(pipeline.name, definition, uploads)


def local_defaults(module: ModuleType, region: str, account: str) -> dict[str, Any]:
    """``region``, ``role`` and ``default_bucket`` for a local run, for those get_pipeline names, under the
    module's own ``local_kwargs()`` (when it has one)."""
    defaults = {
        "region": region,
        "role": f"arn:aws:iam::{account}:role/{LOCAL_ROLE_NAME}",
        "default_bucket": LOCAL_BUCKET,
    }
    params = inspect.signature(module.get_pipeline).parameters
    return {
        **{name: value for name, value in defaults.items() if name in params},
        **getattr(module, "local_kwargs", dict)(),
    }


def build_locally(name: str, kwargs: dict[str, Any], *, region: str, account: str) -> Built:
    """Import the module and build its pipeline with no AWS at all; every S3 upload the build makes is
    returned with the deferred ones, for the local object store."""
    from showcase.builder.answers import LocalBuild
    from showcase.builder.offline import offline_build  # botocore: not imported when a kept definition serves

    local = LocalBuild(region=region, account=account)
    with offline_build(region, answer_locally=local), project_importable():
        module = import_pipeline_module(name)
        built = build(module, {**local_defaults(module, region, account), **kwargs})
    built.uploads = {**local.uploads, **built.uploads}
    return built


def build_for_publishing(name: str, kwargs: dict[str, Any]) -> Built:
    """Import the module and build its pipeline for SageMaker. Importing the SDK builds clients, which need a
    region: ``-k``'s ``region`` serves for the build when the environment names none."""
    region = kwargs.get("region")
    default = {"AWS_DEFAULT_REGION": str(region)} if region and "AWS_DEFAULT_REGION" not in os.environ else {}
    with scoped_environment(default), project_importable():
        return build(import_pipeline_module(name), kwargs)


@contextlib.contextmanager
def project_importable() -> Iterator[None]:
    """The working directory on ``sys.path`` for the block, when it is not there already."""
    cwd = os.getcwd()
    if cwd in sys.path:
        yield
        return
    sys.path.append(cwd)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)
