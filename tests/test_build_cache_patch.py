"""A changed code file is patched into the cached definition only where the build provably used it for nothing
but its upload; every other change builds again.

The builds are real: the SDK builds small pipelines (tests/code_upload_pipeline.py) and the Abalone pipeline,
copied into a temporary project so that their scripts can be edited, through the local build the CLI uses.
What a patch gives is compared with what ``--rebuild`` builds from the same files, byte for byte.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.builder.cache import BuildCache
from showcase.builder.modules import Built, build_locally
from showcase.cli import run_pipeline
from showcase.local import digests
from showcase.local.digests import FileDigests

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "000000000000"
REGION = "us-east-1"


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time_ns() + 2_000_000_000  # a new mtime, as an editor's save a moment later would give
    os.utime(path, ns=(stamp, stamp))


def canonical(built: Built) -> tuple[str, dict[str, bytes]]:
    """The definition as ``run_pipeline`` prints and runs it, and the objects it puts in the local store."""
    return json.dumps(built.definition, indent=2), built.uploads


class Project:
    """A package on sys.path holding tests/code_upload_pipeline.py and its code files, and a cache over it."""

    def __init__(self, root: Path, package: str) -> None:
        self.package = package
        self.dir = root / package
        (self.dir / "lib").mkdir(parents=True)
        (self.dir / "__init__.py").write_text("")
        shutil.copy(REPO / "tests" / "code_upload_pipeline.py", self.dir / "pipe.py")
        (self.dir / "prep.py").write_text("print('prepare')\n")
        (self.dir / "score.py").write_text("# score v1\nprint('score')\n")
        (self.dir / "lib" / "score.py").write_text("# lib score v1\nfrom util import X\n")
        (self.dir / "lib" / "util.py").write_text("X = 1\n")
        self.home = root / "home"
        self.home.mkdir()
        self.builds = 0

    def run(self, *, rebuild: bool = False, **kwargs: Any) -> Built:
        def build_now() -> Built:
            self.builds += 1
            for name in [n for n in sys.modules if n == self.package or n.startswith(self.package + ".")]:
                del sys.modules[name]
            importlib.invalidate_caches()
            return build_locally(f"{self.package}.pipe", kwargs, region=REGION, account=ACCOUNT)

        cache = BuildCache(self.home / "definitions", FileDigests(self.home / "digests.json"))
        request = {"module": f"{self.package}.pipe", "kwargs": kwargs, "region": REGION, "account": ACCOUNT}
        return cache.build(request, build_now, rebuild=rebuild)

    def patchable(self) -> set[str]:
        """The files the newest entry would patch in, relative to the package."""
        (entry,) = (self.home / "definitions").glob("*.json")
        names = json.loads(entry.read_text())["patch"]["files"]
        return {Path(name).relative_to(self.dir).as_posix() for name in names}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Project]:
    package = "codeuploads_" + re.sub(r"\W", "_", request.node.name)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(digests, "RACY_SECONDS", 0.0)  # files here are written just before they are read
    yield Project(tmp_path, package)
    for name in [n for n in sys.modules if n.startswith(package)]:
        del sys.modules[name]


@pytest.mark.parametrize("session", ["ours", "sdk"])
def test_an_uploaded_script_is_patched_in_as_a_rebuild_would_build_it(project: Project, session: str) -> None:
    first = project.run(session=session)
    assert project.patchable() == {"prep.py", "score.py"}
    edit(project.dir / "score.py", "# score v2\nprint('score, better')\n")
    patched = project.run(session=session)
    assert patched.cached and patched.patched == (os.path.relpath(project.dir / "score.py"),)
    assert project.builds == 1  # the SDK built nothing
    rebuilt = project.run(session=session, rebuild=True)
    assert project.builds == 2
    assert canonical(patched) == canonical(rebuilt)
    # The new bytes under a new name (both steps use it), the old object gone, the other script untouched.
    (new_uri,) = [uri for uri in patched.uploads if uri.endswith("/score.py")]
    assert patched.uploads[new_uri] == b"# score v2\nprint('score, better')\n" and new_uri not in first.uploads
    steps = {step["Name"]: step for step in patched.definition["Steps"]}
    for name in ("Score", "ScoreAgain"):
        inputs = steps[name]["Arguments"]["ProcessingInputs"]
        assert [i["S3Input"]["S3Uri"] for i in inputs if i["InputName"] == "code"] == [new_uri]
    assert {u: d for u, d in patched.uploads.items() if u.endswith("/prep.py")} == {
        u: d for u, d in first.uploads.items() if u.endswith("/prep.py")
    }


def test_a_patched_entry_is_reused_as_it_is_and_patched_again(project: Project) -> None:
    first = project.run()
    script = project.dir / "score.py"
    original = script.read_text()
    edit(script, "# score v2\n")
    project.run()
    again = project.run()
    assert again.cached and not again.patched  # nothing changed since the patch
    edit(script, original)
    back = project.run()
    assert back.patched and project.builds == 1
    assert canonical(back) == canonical(first)


def test_the_sdk_build_depends_on_the_variables_it_reads_not_the_whole_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore, tqdm and urllib enumerate the environment while the SDK builds, each for a known slice of it."""
    project.run(session="sdk")
    monkeypatch.setenv("OLDPWD", "/somewhere/else")  # what a `cd` in the user's shell changes
    monkeypatch.setenv("SOME_TERMINAL_SETTING", "1")
    assert project.run(session="sdk").cached and project.builds == 1
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert not project.run(session="sdk").cached and project.builds == 2


@pytest.mark.parametrize(
    ("variant", "edited"),
    [
        ("imported", "score.py"),  # the module imports the script
        ("read", "score.py"),  # the module reads the script: its first line is in the definition
        ("source_dir", "lib/util.py"),  # a FrameworkProcessor's source_dir, archived as sourcedir.tar.gz
        ("trainer", "lib/score.py"),  # a ModelTrainer's source code, uploaded under a job name made at build time
    ],
)
def test_a_file_used_for_more_than_its_upload_builds_again(project: Project, variant: str, edited: str) -> None:
    first = project.run(variant=variant)
    assert project.patchable() == {"prep.py"}  # the other step's script still could be
    path = project.dir / edited
    edit(path, "# changed\n" + path.read_text())
    second = project.run(variant=variant)
    assert not second.cached and not second.patched and project.builds == 2
    assert b"# changed\n" in b"".join(second.uploads.values()) or variant == "source_dir"
    assert canonical(second) != canonical(first)
    if variant == "read":
        (step,) = [s for s in second.definition["Steps"] if s["Name"] == "Score"]
        assert step["Arguments"]["Environment"] == {"SCORE_HEADER": "# changed"}


def test_a_script_changed_with_another_input_builds_again(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.run()
    edit(project.dir / "score.py", "# score v2\n")
    edit(project.dir / "pipe.py", (project.dir / "pipe.py").read_text().replace('"Score"', '"Scored"'))
    second = project.run()
    assert not second.cached and project.builds == 2
    assert "Scored" in [step["Name"] for step in second.definition["Steps"]]


def test_an_uploaded_script_shared_byte_for_byte_with_another_file_builds_again(project: Project) -> None:
    """Two files with the same bytes: which of them an uploaded object holds cannot be told apart."""
    edit(project.dir / "prep.py", (project.dir / "score.py").read_text())
    project.run()
    assert project.patchable() == set()
    edit(project.dir / "score.py", "# score v2\n")
    assert not project.run().cached and project.builds == 2


@pytest.fixture()
def abalone_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The Abalone pipeline package and its two scripts, as a package of their own. Each copy ends in a line of
    its own: the suite imports the originals too, and a build that read two files with the same bytes cannot
    tell which one an upload holds, so it never patches either (tested above)."""
    package = tmp_path / "abalone_copy"
    (package / "pipeline").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    modules = [f"pipeline/{path.name}" for path in (REPO / "src" / "showcase" / "pipeline").glob("*.py")]
    for name in (*modules, "preprocess.py", "evaluate.py"):
        original = (REPO / "src" / "showcase" / name).read_text()
        (package / name).write_text(f"{original}# abalone_copy's own {name}\n")
    (tmp_path / "home").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(digests, "RACY_SECONDS", 0.0)
    yield package
    for name in [n for n in sys.modules if n.startswith("abalone_copy")]:
        del sys.modules[name]


# The CLI's local build in a fresh interpreter that lists its imports: the patched definition and uploads on stdout.
PATCH_IN_A_FRESH_PROCESS = """
import base64, json, sys
sys.path.insert(0, sys.argv[1])
from showcase.cli import run_pipeline
args = run_pipeline.build_parser().parse_args(["-n", "abalone_copy.pipeline", "--local", "--home", sys.argv[2]])
built = run_pipeline._build_local(args)
uploads = {uri: base64.b64encode(data).decode() for uri, data in built.uploads.items()}
print(json.dumps({"definition": built.definition, "uploads": uploads, "patched": built.patched}))
"""


def test_the_abalone_pipeline_after_an_evaluate_edit_is_what_rebuild_builds(abalone_copy: Path) -> None:
    home = abalone_copy.parent / "home"

    def build(*extra: str) -> Built:
        args = run_pipeline.build_parser().parse_args(
            ["-n", "abalone_copy.pipeline", "--local", "--home", str(home), *extra]
        )
        return run_pipeline._build_local(args)

    first = build()
    script = abalone_copy / "evaluate.py"
    edit(script, script.read_text() + "# a comment\n")
    # The same request from a new process (same working directory, interpreter and environment).
    command = [sys.executable, "-X", "importtime", "-c", PATCH_IN_A_FRESH_PROCESS, str(abalone_copy.parent), str(home)]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=120, check=True)
    said = [line for line in result.stderr.splitlines() if line.startswith("definition of")]
    assert len(said) == 1 and "reused with the new" in said[0] and os.path.relpath(script) in said[0], said
    imported = {
        line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time")
    }
    assert "showcase.builder.cache" in imported
    assert not imported & {"sagemaker", "boto3", "abalone_copy.pipeline"}  # no SDK, no pipeline module
    out = json.loads(result.stdout)
    patched = Built("", out["definition"], {u: base64.b64decode(d) for u, d in out["uploads"].items()})
    assert out["patched"] == [os.path.relpath(script)]
    rebuilt = build("--rebuild")
    assert not rebuilt.cached
    assert canonical(patched) == canonical(rebuilt)
    assert canonical(patched) != canonical(first)
    # Only EvaluateModel's code changed name: the other steps' arguments are as they were.
    before = {s["Name"]: s for s in first.definition["Steps"]}
    after = {s["Name"]: s for s in patched.definition["Steps"]}
    assert [name for name in before if before[name] != after[name]] == ["EvaluateModel"]


def test_a_run_after_a_script_edit_runs_the_new_script_in_its_steps_alone(project: Project) -> None:
    """The CLI end to end: the patched definition runs, its new object is in the local store, the other step's
    job is a cache hit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    env |= {"SHOWCASE_HOME": str(project.home), "PYTHONPATH": str(project.dir.parent)}
    command = [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "-n", f"{project.package}.pipe", "--local"]

    def run() -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*command, "--quiet-definition"], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run()
    edit(project.dir / "score.py", "print('scored by the edited script')\n")
    again = run()
    assert "reused with the new" in again.stderr
    executions = sorted((project.home / "executions").iterdir(), key=lambda p: p.stat().st_mtime)
    record = json.loads((executions[-1] / "execution.json").read_text())
    assert {step["name"]: step["status"] for step in record["steps"]} == {
        "Prep": "Cached",
        "Score": "Succeeded",
        "ScoreAgain": "Succeeded",
    }
    logs = "".join(path.read_text() for path in (executions[-1] / "steps").rglob("*") if path.is_file())
    assert logs.count("scored by the edited script") == 2
