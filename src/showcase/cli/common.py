"""What every command shares: the global flags, the handler's Context, flag types, logging, exit codes and the error
boundary."""

from __future__ import annotations

import argparse
import copy
import functools
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from showcase.cli.output import stderr_console
from showcase.errors import ShowcaseError, UsageError
from showcase.files import read_user_text
from showcase.names import EXECUTION_ID, PIPELINE_NAME, STEP_NAME, NameRule

if TYPE_CHECKING:
    from showcase.cli.output import Output
    from showcase.settings import Settings

LOG_LEVELS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")


@dataclass
class Context:
    """What a command's handler gets: its parsed arguments, where its result goes, and the settings (read when
    first used: a command that reads no state, such as ``dashboard --aws``, never checks the home)."""

    args: argparse.Namespace
    out: Output

    @functools.cached_property
    def settings(self) -> Settings:
        from showcase import settings

        apply_pickles_flag(self.args)
        return settings.load(self.args.home)


Handler = Callable[[Context], int]
"""A command: returns its exit code, raises ShowcaseError for what goes wrong."""


HIDDEN_ALIASES = frozenset({"--endpoint"})
"""Old spellings still accepted but no longer shown in help (``--endpoint`` is ``--endpoint-name``)."""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, without the hidden aliases, and with wider help columns."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        shown = [option for option in action.option_strings if option not in HIDDEN_ALIASES]
        if len(shown) == len(action.option_strings):
            return super()._format_action_invocation(action)
        visible = copy.copy(action)
        visible.option_strings = shown
        return super()._format_action_invocation(visible)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the flag, and exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


HOME_HELP = "state directory (default: SHOWCASE_HOME, else ./.showcase)"
LOG_LEVEL_HELP = "logging level: DEBUG, INFO, WARNING, ERROR (default: WARNING)"
JSON_HELP = "print one JSON document (AWS's field names, local times with their offset) instead of text"
DEFAULT_LOG_LEVEL = "WARNING"


def add_global_flags(parser: argparse.ArgumentParser, *, command: bool = False) -> None:
    """``--home``, ``--log-level`` and ``--json`` on ``parser`` and on every command under it, so that each may
    be typed before or after the command (``showcase --home X list`` and ``showcase list --home X``).

    Call it once every command is added. A command's copy defaults to nothing, so it never undoes the value
    given before the command; given in both places, the later one wins. ``resolve_global_flags`` fills in the
    defaults after parsing.
    """
    _add_global_flags(parser, argparse.SUPPRESS if command else None)
    for subcommand in subcommand_parsers(parser):
        add_global_flags(subcommand, command=True)


def _add_global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--home", default=default, help=HOME_HELP)
    parser.add_argument(
        "--log-level", default=default, type=str.upper, choices=LOG_LEVELS, metavar="LEVEL", help=LOG_LEVEL_HELP
    )
    parser.add_argument("--json", action="store_true", default=default if default is not None else False,
                        help=JSON_HELP)  # fmt: skip


def subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of ``parser``'s commands (one level down), each once even when it has aliases."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                if command not in found:
                    found.append(command)
    return found


def resolve_global_flags(args: argparse.Namespace) -> argparse.Namespace:
    """The global flags' defaults, where neither place gave them."""
    args.home = getattr(args, "home", None)
    args.log_level = getattr(args, "log_level", None) or DEFAULT_LOG_LEVEL
    args.json = bool(getattr(args, "json", False))
    return args


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


class _ConsoleHandler(logging.Handler):
    """Writes records through the CLI's one console on stderr, so that a live progress table stays below them."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from rich.text import Text

            stderr_console().print(Text(self.format(record)), soft_wrap=True)
        except Exception:  # logging's own contract: a record that cannot be written is reported, never raised
            self.handleError(record)


def configure_logging(level: str) -> None:
    """Configure the root logger once, for a CLI process; library code only uses getLogger(__name__).

    Records go to stderr as ``LEVEL logger: message`` (with the time at DEBUG), through the console the live
    progress table uses. Credentials are redacted from every record; below DEBUG, other libraries' records show
    only as errors.
    """
    handler = _ConsoleHandler()
    form = (
        "%(asctime)s %(levelname)s %(name)s: %(message)s" if level == "DEBUG" else "%(levelname)s %(name)s: %(message)s"
    )
    handler.setFormatter(logging.Formatter(form))
    handler.addFilter(_RedactSecrets())
    if level != "DEBUG":
        handler.addFilter(_OwnRecordsOrErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel("WARNING" if level == "WARN" else level)


EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_VIOLATIONS = 0, 1, 2, 3
"""Every command's exit codes (docs/cli.md): 0 done; 1 it did not succeed (what it names does not exist, a run
failed, a lock was held); 2 the command line is wrong (an unknown command or flag, a value of the wrong form, a
file it names that cannot be read); 3 a monitoring run found violations."""


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """The error boundary: a ShowcaseError becomes one line on stderr and its exit code."""
    try:
        return main(argv)
    except ShowcaseError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `showcase list | head -1`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def one_line(text: str) -> str:
    """A message on one line: its line breaks (a reason quoting a job's output) become spaces."""
    return " ".join(text.split()) if "\n" in text else text


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


def add_pickles_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--allow-pickled-models`` on ``parser`` (returned)."""
    parser.add_argument(
        "--allow-pickled-models",
        action="store_true",
        help="let Transform jobs and endpoint workers unpickle a pickled xgboost-model (images before 1.3-1) that "
        "this home's training jobs did not write (as SHOWCASE_ALLOW_PICKLED_MODELS=true); only for archives you trust",
    )
    return parser


def apply_pickles_flag(args: argparse.Namespace) -> None:
    """``--allow-pickled-models`` is the setting ``SHOWCASE_ALLOW_PICKLED_MODELS=true`` for this process and the
    ones it starts."""
    if getattr(args, "allow_pickled_models", False):
        os.environ["SHOWCASE_ALLOW_PICKLED_MODELS"] = "true"
