"""pip, as local jobs see it: ``install -r FILE`` checks FILE against the job's environment and installs nothing.

A job's ``python -m pip`` and ``pip`` run this file with the job's interpreter, so FILE is checked against that
interpreter's packages: ``processes.container.job_tools`` copies it as the ``__main__`` of a ``pip`` package first
on the job's ``PYTHONPATH``, with ``requirements`` beside it (which is why it is imported relatively, and why
``requirements`` imports nothing but the standard library and ``packaging``, which the SDK needs too).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .requirements import unmet

VALUED = ("-r", "--requirement", "-i", "--index-url", "--extra-index-url", "-c", "--constraint")


def main(args: list[str]) -> int:
    files = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-r", "--requirement")]
    packages = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and args[i - 1] not in VALUED]
    if args[:1] == ["install"] and files and not packages:
        problems = [problem for name in files for problem in unmet(Path(name))]
        if problems:
            print(
                "local runtime: requirements not met by this environment (a local job installs nothing): "
                + "; ".join(problems),
                file=sys.stderr,
            )
            return 1
        print(f"local runtime: every requirement of {', '.join(files)} is met by this environment; nothing installed")
        return 0
    print(
        "pip is not available to local jobs: the runtime's environment is what a job gets "
        "(a requirements file is checked, not installed)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
