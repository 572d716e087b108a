"""One convention for every command of ``showcase``, checked on every command the parser tree holds.

The commands are found by walking the parser (``leaves``), not listed here: a new command is checked as soon as
it exists. What each needs on its command line comes from ``ARGUMENTS``, by destination; a command with a required
argument not in it fails ``test_every_required_argument_has_a_sample`` until one is added. docs/cli.md states the
convention these tests hold the commands to.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from showcase.cli import main as showcase
from showcase.cli.common import subcommand_parsers
from tests.conftest import REPO

# A valid sample for each required argument, by its destination.
ARGUMENTS: dict[str, list[str]] = {
    "execution_id": ["abcdef123456"],
    "step_name": ["Step"],
    "local": ["model.tar.gz"],
    "uri": ["s3://bucket/key"],
    "package": ["group/1"],
    "definition": ["--definition", "d.json"],
    "config": ["--config", "c.json"],
    "endpoint_name": ["--endpoint-name", "e"],
    "source": ["--from", "staging"],
    "target": ["--to", "prod"],
}
SERVERS = {("dashboard",), ("api",)}
"""Commands that serve until stopped over an empty home: ``test_a_server_prints_its_url_as_one_json_document``
runs them; the others run to their end."""
BUILDS = {("run",)}
"""Runs the showcase pipeline over any home (tests/test_cli_run.py runs it)."""


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command a user can run, by its words (``("registry", "list")``)."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                found |= leaves(command, (*path, name)) if subcommand_parsers(command) else {(*path, name): command}
    return found


TREE = showcase.build_parser()
COMMANDS = leaves(TREE)
IDS = [" ".join(words) for words in COMMANDS]


def required(parser: argparse.ArgumentParser) -> list[str]:
    """A command line that satisfies ``parser``'s required arguments."""
    argv: list[str] = []
    for action in parser._actions:
        if action.required and not isinstance(action, argparse._SubParsersAction):
            argv += ARGUMENTS[action.dest]
    return argv


def argv_of(words: tuple[str, ...]) -> list[str]:
    return [*words, *required(COMMANDS[words])]


def test_the_tree_holds_every_command() -> None:
    assert {" ".join(words) for words in COMMANDS} >= {
        "run", "start", "list", "describe", "logs", "retry", "store put", "store ls",
        "registry groups", "registry list", "registry describe", "registry approve", "registry reject",
        "endpoint serve", "endpoint deploy", "endpoint status", "endpoint stop",
        "monitor run", "monitor list", "dashboard", "api",
    }  # fmt: skip
    assert set(COMMANDS) >= SERVERS


def test_help_shows_the_whole_tree(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        showcase.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for words in COMMANDS:
        assert f"\n{'  ' * len(words)}{words[-1]} " in shown, words


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_every_required_argument_has_a_sample(words: tuple[str, ...]) -> None:
    argv_of(words)  # a KeyError names the destination to add to ARGUMENTS


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_every_global_flag_goes_before_or_after_the_command(words: tuple[str, ...], where: str) -> None:
    flags = ["--home", "/state", "--log-level", "debug", "--json"]
    argv = [*flags, *argv_of(words)] if where == "before" else [*argv_of(words), *flags]
    args = showcase.parse(argv)
    assert (args.home, args.log_level, args.json) == ("/state", "DEBUG", True)
    assert callable(args.handler)
    plain = showcase.parse(argv_of(words))
    assert (plain.home, plain.log_level, plain.json) == (None, "WARNING", False)


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_a_global_flag_given_twice_takes_the_later(words: tuple[str, ...]) -> None:
    args = showcase.parse(["--home", "/first", *argv_of(words), "--home", "/second"])
    assert args.home == "/second"


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_a_usage_error_is_one_line_and_exit_2(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        showcase.parse([*argv_of(words), "--no-such-flag"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-flag (see --help)" in err
    assert err.startswith(f"showcase {' '.join(words)}: error:") or err.startswith("showcase: error:")


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_every_command_has_help(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        showcase.parse([*words, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "--home" in shown and "--log-level" in shown and "--json" in shown


def test_a_bad_log_level_is_a_usage_error_in_any_place(capsys: pytest.CaptureFixture[str]) -> None:
    """``showcase-endpoint --log-level DEBUG status`` was ``invalid choice: 'DEBUG'``."""
    assert showcase.parse(["endpoint", "--log-level", "DEBUG", "status"]).log_level == "DEBUG"
    with pytest.raises(SystemExit) as exited:
        showcase.parse(["endpoint", "status", "--log-level", "loud"])
    assert exited.value.code == 2 and "argument --log-level: invalid choice: 'LOUD'" in capsys.readouterr().err


def test_monitor_takes_endpoint_name_and_its_older_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    """``--endpoint-name`` everywhere; monitor's ``--endpoint`` still works, and help shows only the new name."""
    for flag in ("--endpoint-name", "--endpoint"):
        assert showcase.parse(["monitor", "list", flag, "e"]).endpoint_name == "e"
    with pytest.raises(SystemExit):
        showcase.parse(["monitor", "run", "--help"])
    shown = capsys.readouterr().out
    assert "--endpoint-name NAME" in shown and "--endpoint NAME" not in shown and "--endpoint," not in shown


# -- every command run for real over an empty home ---------------------------------------------------------


def run(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    return subprocess.run(
        [sys.executable, "-m", "showcase.cli.main", "--home", str(home), *argv],
        cwd=REPO, env={**env, "COLUMNS": "80"}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


EMPTY_LISTS = {
    ("list",): "PipelineExecutionSummaries",
    ("registry", "groups"): "ModelPackageGroupSummaryList",
    ("registry", "list"): "ModelPackageSummaryList",
    ("monitor", "list"): "MonitoringExecutionSummaries",
    ("store", "ls"): "Contents",
    ("callback",): "Callbacks",
}


FINITE = [words for words in COMMANDS if words not in SERVERS | BUILDS]


@pytest.mark.parametrize("words", FINITE, ids=[" ".join(words) for words in FINITE])
def test_over_an_empty_home_a_command_lists_nothing_or_says_what_is_missing(
    tmp_path: Path, words: tuple[str, ...]
) -> None:
    """Exit 0 with one JSON document (an empty list, for a listing), or one error line: 1 for something named that
    does not exist, 2 for a file named on the command line that does not. No traceback; the home is not created."""
    home = tmp_path / "home"
    result = run(home, *argv_of(words), "--json")
    assert "Traceback" not in result.stderr, result.stderr
    if words in EMPTY_LISTS:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)[EMPTY_LISTS[words]] == []
    else:
        assert result.returncode in (1, 2), (result.returncode, result.stdout, result.stderr)
        assert result.stdout == "" and result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
        names_a_file = any(flag in result.stderr for flag in ("'d.json'", "'c.json'", "'model.tar.gz'"))
        assert result.returncode == (2 if names_a_file else 1), result.stderr
    assert not home.exists()


@pytest.mark.parametrize("words", sorted(SERVERS))
def test_a_server_prints_its_url_as_one_json_document(tmp_path: Path, words: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    command = [sys.executable, "-m", "showcase.cli.main", *words, "--port", "0", "--home", str(tmp_path), "--json"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the document, then nothing until the server stops
            lines.append(line)
            if line == "}\n":
                break
        document = json.loads("".join(lines))
        assert document["Url"].startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=60)
