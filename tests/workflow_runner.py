"""Run a GitHub workflow job's ``run`` steps, read from the workflow file, in bash, the way a runner runs them.

Each step gets the workflow's, the job's and its own ``env:`` (``${{ secrets.X }}``, ``${{ env.X }}`` and
``${{ needs.<job>.outputs.<name> }}`` filled in), runs in its ``working-directory`` with GitHub's default shell
(``bash --noprofile --norc -eo pipefail``), and a job's ``outputs:`` are read from what its steps wrote to
``$GITHUB_OUTPUT``. Steps that ``uses:`` an action are not run: the caller provides what they would (the
checkout is the workspace, setup-python is the project's venv, configure-aws-credentials is the environment).
Any other expression is refused, so a workflow change this runner does not understand fails the test that uses
it rather than passing it by.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class Workflow:
    path: Path
    secrets: Mapping[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each job run so far: its outputs."""

    @property
    def document(self) -> dict[Any, Any]:
        parsed: dict[Any, Any] = yaml.safe_load(self.path.read_text())
        return parsed

    def job(self, name: str) -> dict[str, Any]:
        job: dict[str, Any] = self.document["jobs"][name]
        return job

    def fill(self, value: Any, env: Mapping[str, str]) -> str:
        """An ``env:`` value with its expressions filled in."""

        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            kind, _, rest = expression.partition(".")
            if kind == "secrets":
                return self.secrets[rest]
            if kind == "env":
                return env[rest]
            found = re.fullmatch(r"needs\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if found:
                return self.outputs[found[1]][found[2]]
            raise AssertionError(f"the workflow runner does not evaluate ${{{{ {expression} }}}}")

        return _EXPRESSION.sub(one, str(value))

    def run_job(
        self, name: str, workspace: Path, base_env: Mapping[str, str], *, skip: frozenset[str] = frozenset()
    ) -> list[subprocess.CompletedProcess[str]]:
        """Run the job's steps in order, stopping at the first that fails; each step's result. ``skip`` names
        steps not to run (the caller says why)."""
        job = self.job(name)
        env = dict(base_env)
        for layer in (self.document.get("env") or {}, job.get("env") or {}):
            env.update({key: self.fill(value, env) for key, value in layer.items()})
        results = []
        steps: dict[str, dict[str, str]] = {}
        for index, step in enumerate(job["steps"]):
            if "uses" in step or step.get("name") in skip:
                continue
            output_file = workspace / f".github-output-{name}-{index}"
            output_file.write_text("")
            step_env = {**env, **{key: self.fill(value, env) for key, value in (step.get("env") or {}).items()}}
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=workspace / step.get("working-directory", "."),
                env={**step_env, "GITHUB_OUTPUT": str(output_file)},
                capture_output=True,
                text=True,
                timeout=1800,
            )
            results.append(result)
            lines = output_file.read_text().splitlines()
            steps[step.get("id", str(index))] = dict(line.split("=", 1) for line in lines if "=" in line)
            if result.returncode != 0:
                break
        self.outputs[name] = {key: self._step_output(value, steps) for key, value in (job.get("outputs") or {}).items()}
        return results

    @staticmethod
    def _step_output(value: Any, steps: Mapping[str, Mapping[str, str]]) -> str:
        def one(match: re.Match[str]) -> str:
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", match.group(1))
            assert found, f"the workflow runner does not evaluate ${{{{ {match.group(1)} }}}} in outputs"
            return steps.get(found[1], {}).get(found[2], "")

        return _EXPRESSION.sub(one, str(value))
