"""A build in the SDK v2 environment, this process's side: it asks, a process of that environment's Python builds.

``build_in_sdk_v2`` makes the environment when it is missing (``showcase.v2env``), then runs its Python with this
package on ``sys.path`` and ``worker.main`` as its program. The request goes over the child's standard input as JSON;
the answer comes back as a JSON file in a private temporary directory: the pipeline's name, its definition, the objects
the build uploaded (base64), the SDK's version, and for a local build what it read, or the one line a failed build
ends with. The child's standard output and error are this process's: what the module prints shows as it would in a
build here.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from showcase import v2env
from showcase.builder.built import Built
from showcase.builder.inputs import outside_project
from showcase.errors import UsageError

BOOT = (
    "import sys; sys.path[:] = [sys.argv[1], *(entry for entry in sys.path if entry)]; "
    "from showcase.builder.worker import main; sys.exit(main(sys.argv[2:]))"
)
"""The child's program (``python -c BOOT PATH_ENTRY RESULT``): this package first on its path, then (``main``)
the entries of this process's path that are the project's; the working directory not (a build puts it at the
end of ``sys.path``, as here)."""


def build_in_sdk_v2(
    kind: str,
    name: str,
    kwargs: dict[str, Any],
    *,
    because: str | None,
    region: str | None = None,
    account: str | None = None,
    home: str | None = None,
) -> Built:
    """Build module ``name`` (``kind``: ``LOCAL`` or ``PUBLISHING``) in the SDK v2 environment."""
    try:
        environment = v2env.ensure()
    except UsageError as exc:
        raise UsageError(
            f"-n/--module-name {name!r} is written for the SageMaker Python SDK v2 ({because}); {exc}"
        ) from None
    request = {
        "kind": kind,
        "module": name,
        "kwargs": kwargs,
        "region": region,
        "account": account,
        "home": home,
        "log_level": logging.getLogger().getEffectiveLevel(),
        "path": _project_path(),
    }
    with tempfile.TemporaryDirectory(prefix="showcase-sdk-v2-build-") as scratch:
        result = Path(scratch) / "result.json"
        command = [str(environment.python), "-c", BOOT, _path_entry(Path(scratch)), str(result)]
        try:
            # This process's os.environ, which a kept build's inputs are checked against later (the C
            # environment may hold more: readline sets COLUMNS and LINES there, not in os.environ).
            environ = dict(os.environ)
            process = subprocess.run(command, input=json.dumps(request), env=environ, text=True, check=False)
        except OSError as exc:
            raise UsageError(
                f"-n/--module-name {name!r}: the SDK v2 environment's Python {environment.python} cannot run "
                f"({exc.strerror}); remove {environment.root} and build again to make it anew"
            ) from None
        try:
            answer = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(
                f"-n/--module-name {name!r}: the build in the SDK v2 environment ended (exit code "
                f"{process.returncode}) before giving its result; what it printed is above"
            ) from None
    if "error" in answer:
        raise UsageError(answer["error"])
    recorded = answer.get("recorded")
    if recorded is not None:
        recorded[0]["sdk_v2_lock"] = environment.digest
    return Built(
        answer["pipeline_name"],
        answer["definition"],
        {uri: base64.b64decode(data) for uri, data in answer["uploads"].items()},
        sdk=answer["sdk"],
        sdk_v2_because=because,
        recorded=None if recorded is None else (recorded[0], recorded[1]),
    )


def _project_path() -> list[str]:
    """The entries of ``sys.path`` that are not this environment's (the script's directory, ``PYTHONPATH``'s,
    a test runner's root): the child looks there first, as this process does, before its own packages."""
    outside = outside_project()
    return [entry for entry in sys.path if entry and not os.path.join(os.path.realpath(entry), "").startswith(outside)]


def _path_entry(scratch: Path) -> str:
    """Where the child finds this package: its parent directory when that holds the project's sources alone
    (``src``), else (installed among other packages, the SDK v3 among them) a directory of its own in
    ``scratch`` holding a link to it."""
    package = Path(__file__).resolve().parents[1]
    installed = {os.path.realpath(path) for path in [*site.getsitepackages(), *sysconfig.get_paths().values()]}
    if os.path.realpath(package.parent) not in installed:
        return str(package.parent)
    entry = scratch / "path"
    entry.mkdir()
    (entry / package.name).symlink_to(package, target_is_directory=True)
    return str(entry)
