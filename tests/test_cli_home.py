"""``--home`` is accepted before and after the subcommand, on every command of every state-reading CLI."""

from __future__ import annotations

import argparse
import importlib

import pytest

# The arguments each command needs besides --home; every command of each CLI must be listed.
COMMANDS: dict[str, dict[str, list[str]]] = {
    "showcase.cli.local": {
        "start": ["--definition", "d.json"],
        "store put": ["model.tar.gz", "s3://bucket/key"],
        "store ls": ["s3://bucket/prefix"],
        "list": [],
        "describe": ["abcdef123456"],
        "retry": ["abcdef123456"],
        "logs": ["abcdef123456", "Step"],
        "api": ["--port", "0"],
    },
    "showcase.cli.registry": {
        "groups": [],
        "list": [],
        "describe": ["G/1"],
        "approve": ["G/1"],
        "reject": ["G/1"],
    },
    "showcase.cli.endpoint": {
        "serve": ["--config", "c.json"],
        "deploy": ["--config", "c.json"],
        "status": [],
        "stop": [],
    },
}


def parser_of(module: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = importlib.import_module(module).build_parser()
    return parser


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    """Every command a user can run, nested ones as ``store put``."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                nested = subcommands(command)
                found |= {f"{name} {inner}" for inner in nested} if nested else {name}
    return found


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_every_command_is_covered(module: str) -> None:
    assert subcommands(parser_of(module)) == set(COMMANDS[module])


@pytest.mark.parametrize(
    ("module", "command"), [(module, command) for module, commands in COMMANDS.items() for command in commands]
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_home_before_or_after_the_command(module: str, command: str, where: str) -> None:
    rest = [*command.split(), *COMMANDS[module][command]]
    argv = ["--home", "/state", *rest] if where == "before" else [*rest, "--home", "/state"]
    args = parser_of(module).parse_args(argv)
    assert args.home == "/state"
    assert parser_of(module).parse_args(rest).home is None


def test_the_dashboard_has_no_command_and_takes_home() -> None:
    parser = parser_of("showcase.cli.dashboard")
    assert subcommands(parser) == set()
    assert parser.parse_args(["--home", "/state"]).home == "/state"
