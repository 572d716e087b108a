"""Typed settings read from the environment, with their defaults in one place.

Every variable has the prefix ``SHOWCASE_``; a bad value fails loudly with the variable's name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from showcase.errors import UsageError

PREFIX = "SHOWCASE_"
DEFAULT_REGION = "us-east-1"
"""The region the local runtime writes in ARNs unless ``SHOWCASE_REGION`` says another."""
DEFAULT_ACCOUNT = "000000000000"
"""The account the local runtime writes in ARNs unless ``SHOWCASE_ACCOUNT`` says another (AWS's placeholder)."""
EXECUTION_ROLE_NAME = "showcase-local-execution"
"""The SageMaker execution role the local runtime assumes: the role ``run_pipeline.py --local`` passes to a
module, and the caller a local build and the local API answer as (``ROLE_SESSION_NAME`` its session)."""
ROLE_SESSION_NAME = "SageMaker"
"""The role session name, as a SageMaker Studio or notebook instance's assumed-role identity carries."""
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_CONTAINER_VIEW = re.compile(r"^(auto|off)$")
_JOB_SERVER = re.compile(r"^(auto|off)$")


def _get(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _get_int(name: str, default: int, minimum: int = 1) -> int:
    raw = _get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise UsageError(f"{PREFIX}{name} must be at least {minimum}, got {value}")
    return value


def _get_flag(name: str) -> bool:
    value = _get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise UsageError(f"{PREFIX}{name} must be true or false, got {value!r}")
    return value == "true"


def pickled_models_allowed() -> bool:
    """``SHOWCASE_ALLOW_PICKLED_MODELS``: whether a pickled ``xgboost-model`` this home did not train may be
    unpickled (in a job or endpoint worker process only); false unless set."""
    return _get_flag("ALLOW_PICKLED_MODELS")


def _get_matching(name: str, default: str, pattern: re.Pattern[str], example: str) -> str:
    value = _get(name, default)
    if not pattern.match(value):
        raise UsageError(f"{PREFIX}{name} must look like {example!r}, got {value!r}")
    return value


def _usable_home(root: Path) -> Path:
    """``root`` made absolute, when it is a directory or can be made one; else a UsageError naming it and why.

    Nothing is created here: commands that only read find a missing home empty.
    """
    where = f"the state directory {str(root)!r} (--home, else {PREFIX}HOME)"
    try:
        home = root.resolve()
        if home.exists() and not home.is_dir():
            raise UsageError(f"{where} is a file, not a directory: give another --home")
        ancestor = home
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise UsageError(f"{where} cannot be created: {ancestor} is a file")
        if ancestor != home and not os.access(ancestor, os.W_OK | os.X_OK):
            raise UsageError(f"{where} cannot be created: no permission to write in {ancestor}")
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        raise UsageError(f"{where} cannot be used: {getattr(exc, 'strerror', None) or exc}") from None
    return home


def execution_role_arn(account: str) -> str:
    """The ARN of ``EXECUTION_ROLE_NAME`` in ``account``."""
    return f"arn:aws:iam::{account}:role/{EXECUTION_ROLE_NAME}"


def assumed_role_arn(account: str, role_name: str = EXECUTION_ROLE_NAME) -> str:
    """What STS GetCallerIdentity answers for a caller that has assumed ``role_name``, as in SageMaker Studio."""
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{ROLE_SESSION_NAME}"


@dataclass(frozen=True)
class Settings:
    """Where the local runtime keeps its state, and how hard it may work."""

    home: Path
    """Root of the local runtime's state: object store, registry, execution records."""
    input_data: str | None
    """A local copy of the Abalone data to use instead of downloading it (``SHOWCASE_INPUT_DATA``)."""
    max_parallel_steps: int
    """How many independent steps the local runtime runs at once."""
    region: str = DEFAULT_REGION
    """The region in the local registry's ARNs (``SHOWCASE_REGION``)."""
    account: str = DEFAULT_ACCOUNT
    """The account in the local registry's ARNs (``SHOWCASE_ACCOUNT``)."""
    container_view: str = "auto"
    """``auto``: each job gets its own /opt/ml where the OS allows it; ``off``: never (``SHOWCASE_CONTAINER_VIEW``)."""
    job_server: str = "auto"
    """``auto``: built-in images' jobs are forked from a pre-imported interpreter on Linux; ``off``: each starts a
    fresh interpreter (``SHOWCASE_JOB_SERVER``)."""
    allow_pickled_models: bool = False
    """Whether a pickled model archive this home's training jobs did not write may be loaded by a Transform job or
    an endpoint worker (``SHOWCASE_ALLOW_PICKLED_MODELS``; ``--allow-pickled-models``)."""

    @property
    def store_root(self) -> Path:
        return self.home / "store"

    @property
    def registry_path(self) -> Path:
        return self.home / "registry.sqlite"

    @property
    def executions_root(self) -> Path:
        return self.home / "executions"


def load(home: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings; ``home`` (a ``--home`` flag) wins over ``SHOWCASE_HOME``."""
    root = Path(home) if home is not None else Path(_get("HOME", ".showcase"))
    return Settings(
        home=_usable_home(root),
        input_data=_get("INPUT_DATA", "") or None,
        max_parallel_steps=_get_int("MAX_PARALLEL_STEPS", 2),
        region=_get_matching("REGION", DEFAULT_REGION, _REGION, "us-east-1"),
        account=_get_matching("ACCOUNT", DEFAULT_ACCOUNT, _ACCOUNT, "123456789012 (12 digits)"),
        container_view=_get_matching("CONTAINER_VIEW", "auto", _CONTAINER_VIEW, "auto or off"),
        job_server=_get_matching("JOB_SERVER", "auto", _JOB_SERVER, "auto or off"),
        allow_pickled_models=pickled_models_allowed(),
    )
