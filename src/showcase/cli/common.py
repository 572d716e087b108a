"""What every command-line entry point shares: flag parsers, logging set-up and the error boundary."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from showcase.errors import ShowcaseError, UsageError
from showcase.files import read_user_text
from showcase.names import EXECUTION_ID, PIPELINE_NAME, STEP_NAME, NameRule

LOG_LEVELS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the flag, and exit code 2."""

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


HOME_HELP = "state directory (default: SHOWCASE_HOME, else ./.showcase)"


def add_home(parser: argparse.ArgumentParser) -> None:
    """``--home`` on ``parser`` and on each of its subcommands, so users may type it before or after the command.

    Call it once every subcommand is added. A subcommand's ``--home`` defaults to nothing, so it never undoes the
    value given before the command; given in both places, the later one wins.
    """
    parser.add_argument("--home", help=HOME_HELP)
    _add_home_to_commands(parser)


def _add_home_to_commands(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
                _add_home_to_commands(command)  # a command's own commands (``store put``) take it too


def json_flag(expected: str, check: Callable[[Any], bool]) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses JSON and checks its shape.

    ``expected`` describes the accepted shape, for the error message.
    """

    def parse(text: str) -> Any:
        try:
            value = load_json(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected {expected}, got text that {exc}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {type(value).__name__}: {text}")
        return value

    return parse


def _is_tag_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(tag, dict) and set(tag) == {"Key", "Value"} and all(isinstance(v, str) for v in tag.values())
        for tag in value
    )


tags_flag = json_flag('a JSON list of {"Key": "...", "Value": "..."} objects', _is_tag_list)
kwargs_flag = json_flag("a JSON object", lambda value: isinstance(value, dict))


def name_flag(rule: NameRule, what: str) -> Callable[[str], str]:
    """An argparse ``type=`` for a name that becomes a path or part of an ARN: it must follow ``rule``."""

    def parse(text: str) -> str:
        problem = rule.problem(what, text)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return text

    return parse


execution_id_flag = name_flag(EXECUTION_ID, "execution id")
step_name_flag = name_flag(STEP_NAME, "step name")
pipeline_name_flag = name_flag(PIPELINE_NAME, "pipeline name")


def key_value_flag(text: str) -> tuple[str, str]:
    """Parse ``Name=Value`` (the value may itself contain ``=``)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def add_allowed_host(parser: argparse.ArgumentParser) -> None:
    """``--allowed-host NAME`` (repeatable), for a server that answers only to the names in requests' Host."""
    from showcase.serving.hosts import allowed_name

    def name(text: str) -> str:
        try:
            return allowed_name(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        type=name,
        metavar="NAME",
        help="also answer requests sent to NAME (repeatable); 127.0.0.1, localhost, ::1 and --host always are",
    )


def add_log_level(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    parser.add_argument(
        "--log-level",
        default=default,
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"logging level (default: {default})",
    )


class _OwnRecordsOrErrors(logging.Filter):
    """Below DEBUG verbosity, show other libraries' records only when they are errors.

    The SDK sets its own loggers' levels at import time and explains at WARNING what it does
    with every step; that is noise for the user of a CLI, and --log-level DEBUG still shows it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("showcase") or record.levelno >= logging.ERROR


SECRET_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Signed requests as botocore logs them at DEBUG: the credential scope and the session token header.
_SIGNED_HEADERS = re.compile(r"(Credential=|X-Amz-Security-Token['\"]?:\s*b?['\"]?)[^/'\",\s]+", re.IGNORECASE)


class _RedactSecrets(logging.Filter):
    """Replace AWS credentials with ``***`` in every record, whoever logged it (botocore at DEBUG does)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets = sorted(
            {os.environ[name] for name in SECRET_VARIABLES if len(os.environ.get(name, "")) >= 4}, key=len, reverse=True
        )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SIGNED_HEADERS.sub(r"\1***", message)
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging(level: str) -> None:
    """Configure the root logger once, for a CLI process; library code only uses getLogger(__name__).

    Credentials are redacted from every record; below DEBUG, other libraries' records show only as errors.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactSecrets())
    if level != "DEBUG":
        handler.addFilter(_OwnRecordsOrErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel("WARNING" if level == "WARN" else level)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """The error boundary: a ShowcaseError becomes one line on stderr and its exit code."""
    try:
        return main(argv)
    except ShowcaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def load_json(text: str) -> Any:
    """Parse JSON a user gave; ValueError completes "<the file> ..." with what is wrong with it.

    Besides malformed JSON: nesting deeper than Python's JSON reader goes (about 1,000 levels: a RecursionError)
    and an integer longer than Python converts (4,300 digits) are refused, each in one line.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"nests JSON too deep to read (more than about {sys.getrecursionlimit():,} levels)") from None
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise ValueError(f"holds an integer of more than {sys.get_int_max_str_digits():,} digits") from None


def read_json_file(path: str, what: str) -> Any:
    """Read a JSON file given on the command line, or raise a UsageError that names it."""
    text = read_user_text(path, what)
    try:
        return load_json(text)
    except ValueError as exc:
        raise UsageError(f"{what} {path!r} {exc}") from None
