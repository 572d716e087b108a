"""``--lambda NAME_OR_ARN=FILE.py:HANDLER`` and ``--lambda-file FILE`` on ``run`` and ``start``: which code runs a
Lambda function that exists only in AWS (a pipeline module that names it by ``function_arn`` alone).

Each mapping makes the local function as a build or the local API does (``showcase.functions``): the file zipped
under its own name, the handler ``<file stem>.<HANDLER>``, a 120 s timeout (the SDK's ``Lambda`` default). A
mapping wins over the code a build kept for the same name. A ``--lambda-file`` holds one mapping a line (blank
lines and ``#`` comments skipped), its files relative to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from showcase import functions
from showcase.errors import ShowcaseError, UsageError
from showcase.files import read_user_text
from showcase.settings import Settings

FORM = "NAME_OR_ARN=FILE.py:HANDLER"


def add_lambda_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lambda", dest="lambdas", action="append", type=lambda_flag, default=[], metavar=FORM,
        help="run this Python file's handler for a Lambda function that exists only in AWS (repeatable)",
    )  # fmt: skip
    parser.add_argument("--lambda-file", metavar="FILE", help=f"a file of {FORM} lines, files relative to it")


def lambda_flag(text: str, relative_to: Path | None = None) -> tuple[str, Path, str]:
    """``NAME_OR_ARN=FILE.py:HANDLER`` -> (name or ARN, file, handler)."""
    name, equals, code = text.partition("=")
    script, colon, handler = code.rpartition(":")
    if not (name and equals and colon and script.endswith(".py") and handler.isidentifier()):
        raise argparse.ArgumentTypeError(f"expected {FORM} (e.g. notify=lambdas/notify.py:handler), got {text!r}")
    path = Path(script) if relative_to is None else relative_to / script
    return name, path, handler


def mapped_functions(
    lambdas: list[tuple[str, Path, str]], lambda_file: str | None, settings: Settings
) -> dict[str, bytes]:
    """The objects the mapped functions are kept as (``{uri: bytes}``, to put in the store before the run)."""
    mappings = list(lambdas)
    if lambda_file is not None:
        text = read_user_text(lambda_file, "--lambda-file")
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    mappings.append(lambda_flag(line.strip(), Path(lambda_file).parent))
                except argparse.ArgumentTypeError as exc:
                    raise UsageError(f"--lambda-file {lambda_file!r} line {number}: {exc}") from None
    documents: dict[str, bytes] = {}
    for name, script, handler in mappings:
        try:
            ref = functions.reference(name, settings.region, settings.account)
        except ShowcaseError as exc:
            raise UsageError(f"--lambda {name}: {exc}") from None
        config, package = functions.from_script(ref, script, handler)
        documents.update(functions.documents(config, package))
    return documents
