"""The local Lambda functions: each function's configuration and code, kept in the object store.

A function is two objects in the bucket ``awslambda-<region>-tasks`` (where Lambda keeps its own code packages):
``functions/<account>/<name>/configuration.json`` (Lambda's ``FunctionConfiguration`` shape, plus ``CodeUri``)
and ``functions/<account>/<name>/code.zip`` (the deployment package). Three writers make the same two objects:
a local build answering the SDK's ``CreateFunction`` / ``UpdateFunctionCode`` (``documents``, kept with the
build's other uploads), the local API's ``CreateFunction``, and ``--lambda NAME=file.py:handler`` for a function
that exists only in AWS (``from_script``). The Lambda step and the API's ``Invoke`` read them (``load``).

Only the standard library and ``showcase.names``, ``errors`` and ``clock`` are imported here: an SDK v2 build's
process imports this module.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from showcase.clock import now
from showcase.errors import NoSuchResource, UsageError
from showcase.names import FUNCTION_NAME

DEFAULT_TIMEOUT = 3
"""Lambda's own default Timeout for CreateFunction (the SDK's ``Lambda`` helper sends 120)."""
DEFAULT_MEMORY = 128
MAX_TIMEOUT = 900
RUNTIME = "python3.12"
"""The runtime a function mapped with ``--lambda`` is described with (the host's Python runs it whatever it says)."""
_ARN = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[^:]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


class Objects(Protocol):
    """What the object store offers that this module uses (``showcase.store.ObjectStore``)."""

    def put_bytes(self, uri: str, data: bytes) -> str: ...

    def get_bytes(self, uri: str) -> bytes: ...

    def exists(self, uri: str) -> bool: ...


@dataclass(frozen=True)
class FunctionRef:
    """A function named by its name, its ARN or its partial ARN (``123456789012:function:name``)."""

    name: str
    region: str
    account: str

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def configuration_uri(self) -> str:
        return f"{self._prefix}/configuration.json"

    @property
    def code_uri(self) -> str:
        return f"{self._prefix}/code.zip"

    @property
    def _prefix(self) -> str:
        return f"s3://awslambda-{self.region}-tasks/functions/{self.account}/{self.name}"


def reference(name_or_arn: object, region: str, account: str) -> FunctionRef:
    """The function ``name_or_arn`` names (an ARN's region and account win over the ones given); a UsageError
    says what is wrong with it."""
    found = _ARN.match(name_or_arn) if isinstance(name_or_arn, str) else None
    if found is None:
        raise UsageError(
            f"{name_or_arn!r} is not a Lambda function name or ARN (give a name, or "
            "arn:aws:lambda:<region>:<account>:function:<name>)"
        )
    name = FUNCTION_NAME.check("Lambda function name", found["name"])
    return FunctionRef(name, found["region"] or region, found["account"] or account)


def configuration(
    ref: FunctionRef, code: bytes, request: Mapping[str, Any], *, last_modified: datetime | None = None
) -> dict[str, Any]:
    """The ``FunctionConfiguration`` of a function made from a CreateFunction ``request`` and its code package."""
    checked_package(code)
    timeout = int(request.get("Timeout") or DEFAULT_TIMEOUT)
    if not 1 <= timeout <= MAX_TIMEOUT:
        raise UsageError(f"Lambda function {ref.name}: Timeout {timeout} must be 1-{MAX_TIMEOUT} seconds")
    handler = request.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise UsageError(f"Lambda function {ref.name}: Handler {handler!r} must be <module>.<function>")
    environment = (request.get("Environment") or {}).get("Variables") or {}
    when = (last_modified or now()).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "FunctionName": ref.name,
        "FunctionArn": ref.arn,
        "Runtime": str(request.get("Runtime") or RUNTIME),
        "Role": str(request.get("Role") or ""),
        "Handler": handler,
        "CodeSize": len(code),
        "CodeSha256": base64.b64encode(hashlib.sha256(code).digest()).decode(),
        "Description": str(request.get("Description") or ""),
        "Timeout": timeout,
        "MemorySize": int(request.get("MemorySize") or DEFAULT_MEMORY),
        "LastModified": when,
        "Version": "$LATEST",
        "Environment": {"Variables": {str(key): str(value) for key, value in environment.items()}},
        "PackageType": "Zip",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "CodeUri": ref.code_uri,
    }


def documents(config: Mapping[str, Any], code: bytes) -> dict[str, bytes]:
    """The two objects a function is kept as: ``{uri: bytes}`` (a local build adds them to its uploads)."""
    return {str(config["CodeUri"]): code, _configuration_uri(config): json.dumps(config, indent=2).encode()}


def save(store: Objects, config: Mapping[str, Any], code: bytes) -> None:
    """Keep a function in the object store: its code first, so a configuration never names missing code."""
    for uri, data in documents(config, code).items():
        store.put_bytes(uri, data)


def load(store: Objects, ref: FunctionRef) -> dict[str, Any]:
    """A function's configuration; NoSuchResource, naming the ways to make it, when there is none."""
    if not store.exists(ref.configuration_uri):
        raise NoSuchResource(
            f"Lambda function {ref.name} does not exist locally (in {ref.region}, account {ref.account}): build a "
            "pipeline module that creates it with the SDK's Lambda(script=... or zipped_code_dir=...), create it "
            f"through showcase api, or map it with --lambda {ref.name}=path/to/file.py:handler"
        )
    loaded: dict[str, Any] = json.loads(store.get_bytes(ref.configuration_uri))
    return loaded


def code(store: Objects, config: Mapping[str, Any]) -> bytes:
    return store.get_bytes(str(config["CodeUri"]))


def from_script(ref: FunctionRef, script: Path, handler: str) -> tuple[dict[str, Any], bytes]:
    """A function made of one Python file (``--lambda NAME=file.py:handler``): the file, zipped under its name,
    with the handler ``<file stem>.<handler>``."""
    try:
        source = script.read_bytes()
    except OSError as exc:
        raise UsageError(f"--lambda {ref.name}: cannot read {str(script)!r}: {exc.strerror or exc}") from None
    package = zip_of({script.name: source})
    return configuration(ref, package, {"Handler": f"{script.stem}.{handler}", "Timeout": 120}), package


def zip_of(files: Mapping[str, bytes]) -> bytes:
    """A deployment package holding ``files`` (``{name: bytes}``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def checked_package(code: bytes) -> bytes:
    """``code`` when it is a zip file; else a UsageError (Lambda's "Could not unzip uploaded file")."""
    if not zipfile.is_zipfile(io.BytesIO(code)):
        raise UsageError("the function's code is not a zip file: Lambda could not unzip the uploaded file")
    return code


def _configuration_uri(config: Mapping[str, Any]) -> str:
    return str(config["CodeUri"]).rsplit("/", 1)[0] + "/configuration.json"
