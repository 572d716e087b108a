"""A build in the SDK v2 environment, that environment's side (``python -c v2build.BOOT PATH RESULT``): read the
request, build with the same code as a build in this project's environment (``modules.build_locally_here``:
``offline_build``, local answers, the recording), write the answer.

It imports nothing of this package beyond the builder, ``showcase.errors``, ``showcase.files`` and
``showcase.settings``, which need the standard library alone; botocore and the SDK are the environment's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from showcase.builder.built import LOCAL
from showcase.builder.inputs import outside_project
from showcase.errors import UsageError

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
