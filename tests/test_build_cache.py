"""The definition cache: reused while nothing the build read has changed; any one changed input rebuilds.

The builds here are of a small pipeline module written to a temporary project (no SDK: building it takes
milliseconds); the real pipeline's reuse, and that the reused path imports no SDK, is in test_local_e2e.
A different SDK version cannot be installed in a test, so that input is changed by replacing the version
reader.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.builder import inputs
from showcase.builder.cache import BuildCache
from showcase.builder.modules import Built
from showcase.local import digests
from showcase.local.digests import FileDigests

MODULE = """
import os
from pathlib import Path

from {package}.helper import STEP_NAME

HERE = Path(__file__).parent


class Session:
    def __init__(self, uploads):
        self.pending_uploads = uploads


class Pipeline:
    def __init__(self, name, steps, uploads):
        self.name, self.steps, self.sagemaker_session = name, steps, Session(uploads)

    def definition(self):
        import json
        return json.dumps({{"Version": "2020-12-01", "Steps": self.steps}})


def get_pipeline(name="P"):
    code = (HERE / "script.py").read_bytes()
    timeout = os.environ.get("PIPE_TIMEOUT", "60")
    step = {{"Name": STEP_NAME, "Type": "Processing", "Timeout": timeout}}
    return Pipeline(name, [step], {{"s3://bucket/code/script.py": code}})
"""


class Project:
    """A project directory on sys.path holding a pipeline package, and a cache over a state directory."""

    def __init__(self, root: Path, package: str) -> None:
        self.root, self.package = root, package
        self.dir = root / package
        self.dir.mkdir(parents=True)
        (self.dir / "__init__.py").write_text("")
        (self.dir / "pipe.py").write_text(MODULE.format(package=package))
        (self.dir / "helper.py").write_text('STEP_NAME = "Prep"\n')
        (self.dir / "script.py").write_text("print('v1')\n")
        self.home = root / "home"
        self.builds = 0

    def run(self, kwargs: dict[str, Any] | None = None, *, rebuild: bool = False) -> Built:
        def build_now() -> Built:
            self.builds += 1
            for name in [n for n in sys.modules if n == self.package or n.startswith(self.package + ".")]:
                del sys.modules[name]
            importlib.invalidate_caches()
            module = importlib.import_module(f"{self.package}.pipe")
            pipeline = module.get_pipeline(**(kwargs or {}))
            uploads = dict(pipeline.sagemaker_session.pending_uploads)
            return Built(pipeline.name, json.loads(pipeline.definition()), uploads)

        cache = BuildCache(self.home / "definitions", FileDigests(self.home / "digests.json"))
        request = {"module": f"{self.package}.pipe", "kwargs": kwargs or {}}
        return cache.build(request, build_now, rebuild=rebuild)

    def edit(self, name: str, text: str) -> None:
        path = self.dir / name
        path.write_text(text)
        # Python's own import check compares the source's mtime in whole seconds with its .pyc's:
        # step the mtime forward so the edited module is really imported again.
        stamp = time.time_ns() + 2_000_000_000
        os.utime(path, ns=(stamp, stamp))


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Project]:
    package = "buildcache_" + re.sub(r"\W", "_", request.node.name)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PIPE_TIMEOUT", raising=False)
    monkeypatch.setattr(digests, "RACY_SECONDS", 0.0)  # files here are written just before they are read
    project = Project(tmp_path, package)
    first = project.run()
    assert not first.cached and project.builds == 1
    yield project


def test_nothing_changed_reuses_the_definition_and_uploads(project: Project) -> None:
    again = project.run()
    assert again.cached and project.builds == 1
    assert again.definition == {
        "Version": "2020-12-01",
        "Steps": [{"Name": "Prep", "Type": "Processing", "Timeout": "60"}],
    }
    assert again.uploads == {"s3://bucket/code/script.py": b"print('v1')\n"}
    assert again.pipeline_name == "P"


def test_the_changed_module_rebuilds(project: Project) -> None:
    project.edit("pipe.py", MODULE.format(package=project.package).replace('"60"', '"90"'))
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.definition["Steps"][0]["Timeout"] == "90"


def test_a_changed_project_file_it_imports_rebuilds(project: Project) -> None:
    project.edit("helper.py", 'STEP_NAME = "Prepare"\n')
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.definition["Steps"][0]["Name"] == "Prepare"
    helper = os.path.relpath(project.dir / "helper.py")
    assert rebuilt.rebuilt_because == f"{helper} changed, and the build used it for more than its upload"


def test_a_changed_code_file_it_uploads_rebuilds(project: Project) -> None:
    project.edit("script.py", "print('v2')\n")
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.uploads["s3://bucket/code/script.py"] == b"print('v2')\n"


def test_other_kwargs_rebuild(project: Project) -> None:
    rebuilt = project.run({"name": "Q"})
    assert not rebuilt.cached and rebuilt.pipeline_name == "Q"
    assert project.run().cached  # the first request's entry is still current


@pytest.mark.parametrize("value", ["120", ""])
def test_an_environment_variable_it_reads_rebuilds(
    project: Project, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PIPE_TIMEOUT", value)  # from unset to set (to a value, or to empty)
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.definition["Steps"][0]["Timeout"] == value
    assert rebuilt.rebuilt_because == "environment variable PIPE_TIMEOUT changed"
    monkeypatch.delenv("PIPE_TIMEOUT")
    assert not project.run().cached  # and back


def test_another_sdk_version_rebuilds(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "sdk_version", lambda: "99.0.0")
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.rebuilt_because is not None and "-> 99.0.0" in rebuilt.rebuilt_because


def test_rebuild_forces_a_build(project: Project) -> None:
    forced = project.run(rebuild=True)
    assert not forced.cached and project.builds == 2 and forced.rebuilt_because is None
    assert project.run().cached


def test_a_damaged_entry_only_costs_a_build(project: Project) -> None:
    for entry in (project.home / "definitions").glob("*.json"):
        entry.write_text("{")
    rebuilt = project.run()
    assert not rebuilt.cached and "cannot be read" in (rebuilt.rebuilt_because or "")
    assert project.run().cached


def test_an_entry_holds_no_value_of_an_environment_variable_the_build_did_not_read(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY")
    project.run(rebuild=True)
    text = "".join(p.read_text() for p in (project.home / "definitions").glob("*.json"))
    assert "SECRETKEY" not in text and "PIPE_TIMEOUT" in text


def _module_that(project: Project, line: str) -> str:
    """The pipeline module with ``line`` run first thing in get_pipeline."""
    return MODULE.format(package=project.package).replace("    code = ", f"    {line}\n    code = ")


def test_a_proxy_look_up_depends_on_the_proxy_variables_alone(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urllib's proxy look-up (which botocore makes for every client) enumerates the environment for *_proxy."""
    project.edit("pipe.py", _module_that(project, "import urllib.request; urllib.request.getproxies()"))
    assert not project.run().cached
    monkeypatch.setenv("OLDPWD", "/somewhere/else")  # what a `cd` in the user's shell changes
    assert project.run().cached
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:3128")
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.rebuilt_because == "the environment variables ending in _proxy changed"


def test_a_build_that_enumerates_the_environment_itself_depends_on_all_of_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.edit("pipe.py", _module_that(project, "names = sorted(os.environ)"))
    assert not project.run().cached
    monkeypatch.setenv("OLDPWD", "/somewhere/else")
    assert not project.run().cached
    monkeypatch.setenv("OLDPWD", "/somewhere/else")
    assert project.run().cached


def test_a_variable_it_reads_is_kept_as_a_digest_never_its_value(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a module reads may be a secret (a token for a private index, say): the entry can tell a change without
    holding the value."""
    project.edit("pipe.py", _module_that(project, "token = os.environ.get('PIPE_TOKEN')"))
    monkeypatch.setenv("PIPE_TOKEN", "tok3n-9f8e7d6c5b4a")
    assert not project.run().cached
    assert project.run().cached
    text = "".join(p.read_text() for p in (project.home / "definitions").glob("*.json"))
    assert "tok3n-9f8e7d6c5b4a" not in text and "PIPE_TOKEN" in text
    monkeypatch.setenv("PIPE_TOKEN", "tok3n-0a1b2c3d4e5f")
    rebuilt = project.run()
    assert not rebuilt.cached and rebuilt.rebuilt_because == "environment variable PIPE_TOKEN changed"


def test_an_entry_an_earlier_version_wrote_is_removed(project: Project) -> None:
    """Entries of format 3 held the values of the variables the build read; this version never reads them."""
    earlier = project.home / "definitions" / f"{'0' * 64}.json"
    earlier.write_text(json.dumps({"request": {"format": 3}, "inputs": {"variables": {"PIPE_TIMEOUT": "a value"}}}))
    project.run(rebuild=True)
    assert not earlier.exists() and len(list((project.home / "definitions").glob("*.json"))) == 1


LISTINGS = {
    "os.listdir": "os.listdir(HERE / 'data')",
    "os.scandir": "[entry.name for entry in os.scandir(HERE / 'data')]",
    "glob.glob": "__import__('glob').glob(str(HERE / 'data' / '*'))",
    "Path.iterdir": "list((HERE / 'data').iterdir())",
    "Path.glob": "list((HERE / 'data').glob('*.csv'))",
}


@pytest.fixture(params=sorted(LISTINGS))
def listing(project: Project, request: pytest.FixtureRequest) -> Project:
    """The project's module listing its ``data`` directory (one file in it) with one of the ways Python lists."""
    (project.dir / "data").mkdir()
    (project.dir / "data" / "a.csv").write_text("1\n")
    project.edit("pipe.py", _module_that(project, f"listed = {LISTINGS[request.param]}"))
    assert not project.run().cached
    assert project.run().cached
    return project


def test_a_file_added_to_a_directory_it_listed_rebuilds(listing: Project) -> None:
    (listing.dir / "data" / "b.csv").write_text("2\n")
    rebuilt = listing.run()
    assert not rebuilt.cached
    assert rebuilt.rebuilt_because == f"the names in {str(listing.dir / 'data')!r} changed (b.csv)"


def test_a_file_removed_from_a_directory_it_listed_rebuilds(listing: Project) -> None:
    (listing.dir / "data" / "a.csv").unlink()
    rebuilt = listing.run()
    assert not rebuilt.cached
    assert rebuilt.rebuilt_because == f"the names in {str(listing.dir / 'data')!r} changed (a.csv)"


def test_a_file_added_where_it_listed_nothing_rebuilds_nothing(listing: Project) -> None:
    """The module's own directory is looked through by the import system, which is no listing of the build's."""
    (listing.dir / "notes.txt").write_text("not read\n")
    (listing.root / "elsewhere").mkdir()
    (listing.root / "elsewhere" / "c.csv").write_text("3\n")
    assert listing.run().cached and listing.builds == 2
