"""``-k`` is checked against ``get_pipeline``'s signature and its types before the module builds anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from showcase.builder.keywords import check_kwargs
from showcase.errors import UsageError
from tests.conftest import REPO


def get_pipeline(
    region: str,
    role: str | None = None,
    tune: bool = False,
    trials: int | None = None,
    threshold: float = 6.0,
    name: str = "p",
    extra: Any = None,
) -> None:
    """A signature of each kind ``get_pipeline`` may have."""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region": "eu-west-1"},
        {"region": "eu-west-1", "role": None, "tune": True, "trials": 3, "threshold": 5, "name": "q"},
        {"region": "eu-west-1", "threshold": 5.5, "extra": {"anything": ["goes"]}},
    ],
)
def test_values_of_the_declared_types_pass(kwargs: dict[str, Any]) -> None:
    check_kwargs(get_pipeline, kwargs, "get_pipeline")


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"region": "r", "tune": "false"}, 'tune must be true or false (JSON writes true, false and numbers unquoted), '
         'got "false"'),
        ({"region": "r", "tune": 1}, "tune must be true or false"),
        ({"region": "r", "trials": "3"}, 'trials must be a whole number or null (JSON writes true, false and numbers '
         'unquoted), got "3"'),
        ({"region": "r", "trials": 2.5}, "trials must be a whole number or null"),
        ({"region": "r", "trials": True}, "trials must be a whole number or null"),
        ({"region": "r", "threshold": "5"}, "threshold must be a number"),
        ({"region": 3}, "region must be a string"),
        ({"region": "r", "tunes": True}, "accepts no 'tunes' (did you mean 'tune'?); it accepts region (a string), "
         "role (a string or null), tune (true or false), trials (a whole number or null), threshold (a number), "
         "name (a string)"),
        ({"tune": True}, "needs 'region'"),
    ],
)  # fmt: skip
def test_a_wrong_name_or_type_is_one_line_listing_what_is_accepted(kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(UsageError, match="^-k/--kwargs: ") as raised:
        check_kwargs(get_pipeline, kwargs, "get_pipeline")
    assert said in str(raised.value) and "\n" not in str(raised.value)


def test_a_function_taking_any_keyword_is_not_checked() -> None:
    def anything(**kwargs: Any) -> None: ...

    check_kwargs(anything, {"whatever": "x"}, "get_pipeline")


def test_the_showcase_pipeline_refuses_tuning_keywords_without_tune() -> None:
    """They would change nothing: the default variant has no tuning step."""
    from showcase.pipeline import get_pipeline as showcase_pipeline

    with pytest.raises(UsageError, match=r'^tuning_max_jobs configures the tuned variant: add "tune": true, or leave'):
        showcase_pipeline(region="eu-west-1", tuning_max_jobs=3)
    with pytest.raises(UsageError, match="^tuning_max_jobs and tuning_max_parallel_jobs configure the tuned variant"):
        showcase_pipeline(region="eu-west-1", tune=False, tuning_max_jobs=3, tuning_max_parallel_jobs=1)


def run(home: Path, kwargs: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWCASE_")}
    command = [sys.executable, "-m", "showcase.cli.main", "run", "--home", str(home), "-k", json.dumps(kwargs)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"tune": "false"}, 'error: -k/--kwargs: tune must be true or false (JSON writes true, false and numbers '
         'unquoted), got "false"; get_pipeline of showcase.pipeline accepts region (a string), '),
        ({"tuning_max_jobs": 3}, 'error: tuning_max_jobs configures the tuned variant: add "tune": true, or leave '
         "tuning_max_jobs out"),
    ],
)  # fmt: skip
def test_showcase_run_refuses_them_before_running_anything(tmp_path: Path, kwargs: dict[str, Any], said: str) -> None:
    """``-k '{"tune": "false"}'`` used to build the tuned variant ("false" is a true string)."""
    result = run(tmp_path / "home", kwargs)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "home" / "executions").exists()
