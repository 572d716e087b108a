"""A training job's ``requirements.txt``, checked against this environment instead of installed into it.

On SageMaker the image pip-installs the source's requirements when the job starts (the sagemaker-training
toolkit for script mode, ``sm_train.sh`` for SDK v3 ``ModelTrainer(source_code=SourceCode(requirements=...))``).
Locally a job runs with the runtime's own interpreter and packages, and installing would silently change the
user's environment (and needs a network): so each requirement is checked against the installed distributions
(``packaging``'s specifiers and environment markers) before the job starts, and a job whose requirements are not
all met is refused, naming the file, each unmet requirement and the fix. A job whose requirements are met runs,
and its install step installs nothing (``pip``, which runs this module in the job's interpreter: it imports
nothing but the standard library and ``packaging``).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

_V3_INSTALL = re.compile(r"install_requirements\.py\s+(\S+)")
_V3_WORKING_DIR = re.compile(r"^cd\s+(\S+)\s*$", re.MULTILINE)
_IGNORED_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--trusted-host", "--pre",
                    "--no-index", "--prefer-binary", "--only-binary", "--no-binary")  # fmt: skip


def unmet(path: Path, _seen: frozenset[Path] = frozenset(), *, packages: Path | None = None) -> list[str]:
    """Each requirement of the file (and of the files it includes with ``-r``) this environment does not meet,
    as ``"numpy>=3 (installed: 2.1.0)"`` or ``"missing-package (not installed)"``; ``packages``: another
    environment's ``site-packages`` instead (one of this Python's version, whose markers this one evaluates)."""
    found: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            option, _, target = line.partition(" ")
            included = (path.parent / target.strip()).resolve()
            if option in ("-r", "--requirement") and included not in _seen:
                found += (
                    unmet(included, _seen | {path.resolve()}, packages=packages)
                    if included.is_file()
                    else [f"{line} (no such file)"]
                )
            continue
        if line.startswith(_IGNORED_OPTIONS):
            continue
        found += _problem(line, packages)
    return found


def _problem(line: str, packages: Path | None) -> list[str]:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return [f"{line} (not a requirement this runtime can check: a path, URL or editable install)"]
    if requirement.url:
        return [f"{line} (a direct URL: this runtime cannot check what it would install)"]
    if requirement.marker is not None and not requirement.marker.evaluate():
        return []
    where = sys.path if packages is None else [str(packages)]
    found = next(iter(importlib.metadata.distributions(name=canonicalize_name(requirement.name), path=where)), None)
    if found is None:
        return [f"{line} (not installed)"]
    version = found.version
    if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
        return [f"{line} (installed: {version})"]
    return []


def v3_requirements_file(driver: Path, channel_root: Path) -> Path | None:
    """The requirements file SageMaker's v3 ``sm_train.sh`` driver installs (``install_requirements.py FILE``,
    relative to the directory it ``cd``s to), as a path under ``channel_root`` (the job's ``/opt/ml``); None when
    the driver installs none or the file does not exist."""
    text = driver.read_text(encoding="utf-8", errors="replace")
    named = _V3_INSTALL.search(text)
    if named is None:
        return None
    directory = _V3_WORKING_DIR.search(text)
    base = Path(directory.group(1)) if directory else Path("/opt/ml/input/data/code")
    target = Path(named.group(1)) if Path(named.group(1)).is_absolute() else base / named.group(1)
    if not target.is_relative_to("/opt/ml") or ".." in target.parts:
        return None
    found = channel_root.joinpath(*target.relative_to("/opt/ml").parts)
    return found if found.is_file() else None


def refusal(step: str, shown: str, problems: list[str]) -> str:
    """The one line a refused job fails with."""
    return (
        f"ClientError: step {step}: {shown} asks for {len(problems)} requirement(s) this environment does not meet: "
        f"{'; '.join(problems)}. The local runtime runs jobs with its own Python packages and does not install "
        "a job's requirements (that would change your environment): install them into the environment that runs "
        f"the pipeline (e.g. pip install -r {Path(shown).name}) and run again"
    )
