"""``showcase``: the one command, with a subcommand for each thing a user does (docs/cli.md).

    showcase run [-n MODULE] [-k JSON] [-p NAME=VALUE ...]     build a pipeline module, run it on this machine
    showcase start --definition FILE [-p NAME=VALUE ...]       run a definition JSON file
    showcase list | describe ID | logs ID STEP | retry ID      the executions under the home
    showcase store put LOCAL s3://... | store ls s3://...      the local object store
    showcase registry groups|list|describe|approve|reject     the local model registry
    showcase endpoint serve|deploy|status|stop                 the local endpoint
    showcase monitor run|list                                  data-quality monitoring of its captured traffic
    showcase dashboard                                         all of it in a browser
    showcase api                                               the AWS API on loopback, over the same home

Every command takes ``--home``, ``--log-level`` and ``--json`` before or after its name. The older commands
(``showcase-local``, ``showcase-registry``, ``showcase-endpoint``, ``showcase-monitor``, ``showcase-dashboard``)
are this one under other names: ``showcase-registry list`` is ``showcase registry list``.

A new command is a module of this package with ``register(commands)``, which adds its parser(s) with
``set_defaults(handler=...)``; list it in ``COMMANDS`` below, in the order ``--help`` shows it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from showcase.cli import api, callback, dashboard, endpoint, local, monitor, registry, run_pipeline
from showcase.cli.common import (
    ArgumentParser,
    Context,
    add_global_flags,
    configure_logging,
    resolve_global_flags,
    run_cli,
)

PROG = "showcase"
COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    run_pipeline.register,  # run
    local.register,  # start, list, describe, logs, retry, store
    callback.register,  # callback
    registry.register,  # registry ...
    endpoint.register,  # endpoint ...
    monitor.register,  # monitor ...
    dashboard.register,  # dashboard
    api.register,  # api
    # `showcase callback success|failure TOKEN` (SendPipelineExecutionStepSuccess/Failure, for Callback steps)
    # registers here, from its own module.
)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [--home DIR] [--log-level LEVEL] [--json] COMMAND ...",
        description="Run SageMaker pipelines on this machine, and look after what they make: executions, the\n"
        "model registry, endpoints and their monitoring. State lives under --home, else SHOWCASE_HOME,\n"
        "else ./.showcase.",
        formatter_class=_TreeFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS, prog=PROG
    )
    for register in COMMANDS:
        register(commands)
    add_global_flags(parser)
    parser.epilog = (
        "commands:\n"
        + "\n".join(tree(parser))
        + ("\n\n--home, --log-level and --json go before or after any command; `showcase COMMAND --help` says more.")
    )
    return parser


class _TreeFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def tree(parser: argparse.ArgumentParser, depth: int = 1) -> list[str]:
    """Every command under ``parser`` with its one-line help, indented by depth (``showcase --help``)."""
    lines = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, command in action.choices.items():
            label = "  " * depth + name
            lines.append(f"{label:<24}{helps.get(name) or ''}".rstrip())
            lines += tree(command, depth + 1)
    return lines


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    return resolve_global_flags(build_parser().parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    from showcase.cli.output import Output

    args = parse(argv)
    configure_logging(args.log_level)
    handler = args.handler
    return int(handler(Context(args, Output(json_mode=args.json))))


def entry(argv: Sequence[str] | None = None) -> int:
    """``showcase``: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


def alias(*prefix: str) -> Callable[[Sequence[str] | None], int]:
    """An older command's entry point: ``showcase`` with ``prefix`` typed first (``showcase-registry`` is
    ``showcase registry``)."""

    def entry_point(argv: Sequence[str] | None = None) -> int:
        given = sys.argv[1:] if argv is None else list(argv)
        return run_cli(main, [*prefix, *given])

    return entry_point


__all__ = ["alias", "build_parser", "entry", "main"]

if __name__ == "__main__":
    sys.exit(entry())
