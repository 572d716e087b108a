"""Importing a pipeline module by name and calling its ``get_pipeline``: the definition and the code uploads.

``build_locally`` builds any module on this machine with no AWS at all (inside ``offline.offline_build`` with
local answers, entered before the module is imported); ``build_for_publishing`` builds it for SageMaker, where
the module may look things up with the user's own credentials. Both import the module with the working
directory on ``sys.path`` for the build (as ``python -m`` would find a module of the project the command runs
in), and take it off again after.

Both first read which SDK the module is written for (``sdks.written_for``): a module written for the SDK v2
is built the same way by a process of the SDK v2 environment (``worker``), the others in this process
(``build_locally_here``, ``build_for_publishing_here``). Every way a build can fail (a syntax error, an
import that fails, no ``get_pipeline``, keywords it does not take, an exception in it or in the definition)
is a ``UsageError`` in one line naming the module, the cause, and the line of the user's code it came from.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any

from showcase.builder import keywords
from showcase.builder.environment import scoped_environment
from showcase.builder.inputs import outside_project, sdk_version
from showcase.builder.sdks import V2, shown, written_for
from showcase.errors import ShowcaseError, UsageError
from showcase.settings import execution_role_arn

LOCAL_BUCKET = "showcase-local"
LOCAL, PUBLISHING = "local", "publishing"
"""The two kinds of build."""
_CAUSE_LIMIT = 400
"""Characters of an exception's message a failure's line quotes at most."""


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
    sdk: str | None = None
    """The version of the SageMaker Python SDK that built the definition."""
    sdk_v2_because: str | None = None
    """For a build in the SDK v2 environment: the import that says the module is written for the SDK v2."""
    recorded: tuple[dict[str, Any], dict[str, Any]] | None = None
    """For a build in the SDK v2 environment: the inputs it read and its patch plan, as a cache entry keeps them
    (``cache.inputs_of``), recorded in that process."""


def import_pipeline_module(name: str) -> ModuleType:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise UsageError(f"-n/--module-name {name!r}: cannot import it ({exc})") from None
        raise failure(name, "importing it", exc) from exc
    except SyntaxError as exc:
        where = f"{shown(exc.filename)}:{exc.lineno}" if exc.filename else "its source"
        raise UsageError(f"-n/--module-name {name!r}: {where}: SyntaxError: {exc.msg}") from None
    except ShowcaseError:
        raise
    except (Exception, SystemExit) as exc:
        raise failure(name, "importing it", exc) from exc
    if not callable(getattr(module, "get_pipeline", None)):
        raise UsageError(f"-n/--module-name {name!r} has no get_pipeline(**kwargs) function")
    return module


def failure(name: str, what: str, exc: BaseException) -> UsageError:
    """One line for an exception the user's code raised while ``what`` (``"importing it"``): its type, its
    message and the last line of the user's own code it passed through."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(message) > _CAUSE_LIMIT:
        message = message[: _CAUSE_LIMIT - 3] + "..."
    cause = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return UsageError(f"-n/--module-name {name!r}: {what} raised {cause}{_where(exc.__traceback__)}")


def _where(tb: TracebackType | None) -> str:
    """`` (at FILE:LINE)``: the innermost frame of the user's code (not the interpreter's, an installed
    package's or this package's), or nothing."""
    outside = (*outside_project(), os.path.join(os.path.dirname(os.path.realpath(__file__)), ""))
    found = ""
    for frame, line in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not os.path.realpath(filename).startswith(outside):
            found = f" (at {shown(filename)}:{line})"
    return found


def check_kwargs(module: ModuleType, kwargs: dict[str, Any]) -> None:
    """Reject keywords get_pipeline does not accept, values of the wrong type, and missing required ones, in one
    line (``keywords.check_kwargs``)."""
    keywords.check_kwargs(module.get_pipeline, kwargs, f"get_pipeline of {module.__name__}")


def build(module: ModuleType, kwargs: dict[str, Any]) -> Built:
    """Call get_pipeline; return the pipeline's name, its parsed definition and the deferred code uploads."""
    name = module.__name__
    check_kwargs(module, kwargs)
    try:
        pipeline = module.get_pipeline(**kwargs)
    except ShowcaseError:
        raise
    except (Exception, SystemExit) as exc:
        raise failure(name, "get_pipeline", exc) from exc
    if not callable(getattr(pipeline, "definition", None)):
        raise UsageError(f"-n/--module-name {name!r}: get_pipeline returned {type(pipeline).__name__}, not a Pipeline")
    try:
        text = pipeline.definition()
        definition = json.loads(text)
    except ShowcaseError:
        raise
    except (Exception, SystemExit) as exc:
        raise failure(name, "building the pipeline's definition()", exc) from exc
    uploads = dict(getattr(getattr(pipeline, "sagemaker_session", None), "pending_uploads", {}) or {})
    return Built(str(pipeline.name), definition, uploads, sdk=sdk_version())


def local_defaults(module: ModuleType, region: str, account: str) -> dict[str, Any]:
    """``region``, ``role`` and ``default_bucket`` for a local run, for those get_pipeline names, under the
    module's own ``local_kwargs()`` (when it has one)."""
    defaults = {
        "region": region,
        "role": execution_role_arn(account),
        "default_bucket": LOCAL_BUCKET,
    }
    params = inspect.signature(module.get_pipeline).parameters
    return {
        **{name: value for name, value in defaults.items() if name in params},
        **getattr(module, "local_kwargs", dict)(),
    }


def build_locally(name: str, kwargs: dict[str, Any], *, region: str, account: str, home: str | None = None) -> Built:
    """Build the module's pipeline with no AWS at all, with the SDK it is written for; every S3 upload the
    build makes is returned with the deferred ones, for the local object store. ``home``: the state directory
    (what a build reads there is no input of it, for the build cache)."""
    verdict = written_for(name)
    if verdict.sdk == V2:
        from showcase.builder.worker import build_in_sdk_v2

        request = {"region": region, "account": account, "home": home}
        return build_in_sdk_v2(LOCAL, name, kwargs, because=verdict.because, **request)
    return build_locally_here(name, kwargs, region=region, account=account)


def build_locally_here(name: str, kwargs: dict[str, Any], *, region: str, account: str) -> Built:
    """``build_locally`` in this process, with its SDK."""
    from showcase.builder.answers import LocalBuild
    from showcase.builder.offline import offline_build  # botocore: not imported when a kept definition serves

    local = LocalBuild(region=region, account=account)
    with offline_build(region, answer_locally=local), project_importable():
        module = import_pipeline_module(name)
        built = build(module, {**local_defaults(module, region, account), **kwargs})
    built.uploads = {**local.uploads, **built.uploads}
    return built


def build_for_publishing(name: str, kwargs: dict[str, Any]) -> Built:
    """Build the module's pipeline for SageMaker, with the SDK it is written for."""
    verdict = written_for(name)
    if verdict.sdk == V2:
        from showcase.builder.worker import build_in_sdk_v2

        return build_in_sdk_v2(PUBLISHING, name, kwargs, because=verdict.because)
    return build_for_publishing_here(name, kwargs)


def build_for_publishing_here(name: str, kwargs: dict[str, Any]) -> Built:
    """``build_for_publishing`` in this process. Importing the SDK builds clients, which need a region:
    ``-k``'s ``region`` serves for the build when the environment names none."""
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
