"""A build in the SDK v2 environment: this process asks, a process of that environment's Python builds.

``build_in_sdk_v2`` (here) makes the environment when it is missing (``v2env``), then runs its Python with
this package on ``sys.path`` and ``main`` (there) as its program. The request goes over the child's standard
input as JSON; the answer comes back as a JSON file in a private temporary directory: the pipeline's name,
its definition, the objects the build uploaded (base64), the SDK's version, and for a local build what it
read (``cache.inputs_of``, recorded there with ``recording`` as a build here records itself), or the one
line a failed build ends with. The child's standard output and error are this process's: what the module
prints shows as it would in a build here.

The child builds with the same code as a build here (``modules.build_locally_here``: ``offline_build``,
local answers, the recording), so it imports nothing of this package beyond the builder, ``showcase.errors``,
``showcase.files`` and ``showcase.settings``, which need the standard library alone; botocore and the SDK are
the environment's own.
"""

from __future__ import annotations

import base64
import hashlib
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

from showcase.builder import v2env
from showcase.builder.inputs import outside_project
from showcase.builder.modules import LOCAL, Built
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


# -- the child ------------------------------------------------------------------------------------------------


class _Digests:
    """The sha256 of a file, read once (``local.digests.FileDigests``' interface, which the child does not
    import: the parent keeps its own memo)."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def sha256(self, path: str) -> str:
        if path not in self._known:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self._known[path] = digest.hexdigest()
        return self._known[path]


def main(argv: list[str]) -> int:
    """The child: read the request, build, write the answer to ``argv[0]``."""
    from showcase.files import write_json_atomically

    request = json.loads(sys.stdin.read())
    sys.path[1:1] = [entry for entry in request["path"] if entry not in sys.path]
    _logging(int(request.get("log_level") or logging.INFO))
    try:
        answer = _build(request)
    except UsageError as exc:
        answer = {"error": str(exc)}
    except Exception as exc:  # the outermost layer of the child: its one line, in the parent
        answer = {"error": f"-n/--module-name {request['module']!r}: the build in the SDK v2 environment failed "
                  f"({type(exc).__name__}: {exc})"}  # fmt: skip
    write_json_atomically(argv[0], answer, indent=None)
    return 0


def _build(request: dict[str, Any]) -> dict[str, Any]:
    from showcase.builder.cache import inputs_of
    from showcase.builder.environment import scoped_environment
    from showcase.builder.modules import build_for_publishing_here, build_locally_here
    from showcase.builder.recording import recording

    name, kwargs = request["module"], request["kwargs"]
    recorded = None
    if request["kind"] == LOCAL:
        with recording((*outside_project(), *_linked())) as reads:
            built = build_locally_here(name, kwargs, region=request["region"], account=request["account"])
        home = Path(request["home"]) if request.get("home") else None
        recorded = inputs_of(reads, built, home, _Digests())
    else:
        with scoped_environment({"SAGEMAKER_SUPPRESS_V2_WARNING": "1"}):
            built = build_for_publishing_here(name, kwargs)
    return {
        "pipeline_name": built.pipeline_name,
        "definition": built.definition,
        "uploads": {uri: base64.b64encode(data).decode() for uri, data in built.uploads.items()},
        "sdk": built.sdk,
        "recorded": recorded,
    }


def _linked() -> tuple[str, ...]:
    """This package's directories when it is reached through a link (``_path_entry``): its files are then an
    installed package's, no input of a build."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.islink(package):
        return ()
    return (os.path.join(package, ""), os.path.join(os.path.realpath(package), ""))


def _logging(level: int) -> None:
    """The CLI's logging for this process: this package's records at ``level``, others' errors alone (their
    debug records may carry a signed request); the SDK's config logger then adds no handler of its own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(lambda record: record.name.startswith("showcase") or record.levelno >= logging.ERROR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("sagemaker").addHandler(logging.NullHandler())
