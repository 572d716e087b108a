"""Modules written for the SageMaker Python SDK v2: told apart by their imports, built in the SDK v2 environment
(made once from the package's lock, atomically, then used offline) with the same offline build, and the
definition is the one SDK v2 builds; get_execution_role() in a build of either SDK; every build failure is one
line naming the module and the cause.

The reference definitions are built by the SDK v2 itself against a moto server on loopback (moto answers the
bucket check and keeps the uploads), with the role and bucket a local run passes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from showcase import v2env
from showcase.builder.cache import BuildCache
from showcase.builder.modules import Built, build_for_publishing, build_locally
from showcase.builder.sdks import V2, V3, written_for
from showcase.errors import UsageError
from showcase.local.digests import FileDigests
from showcase.settings import execution_role_arn, load
from showcase.store import ObjectStore
from tests.conftest import REPO
from tests.sdk_v2_support import SDK_V2_VERSION, TELEMETRY_OFF, sdk_v2_python, uv_cache_dir

ACCOUNT = "000000000000"
TEMPLATE = "tests.parity.abalone_sdk_v2.pipeline"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}")
"""The time in a job name the SDK makes while building (``script-abalone-eval-2026-...``)."""


def no_aws_env(**extra: str) -> dict[str, str]:
    """This environment without any AWS or local-runtime setting: no region, no credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    return {**env, **extra}


def run_pipeline(home: Path, *args: str, cwd: Path = REPO, pythonpath: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "--local", *args],
        cwd=cwd,
        env=no_aws_env(SHOWCASE_HOME=str(home), PYTHONPATH=os.pathsep.join([str(pythonpath), str(REPO / "src")])),
        capture_output=True,
        text=True,
        timeout=600,
    )


def definition_of(stderr: str) -> dict[str, object]:
    """The definition a local run kept, from the line naming its file (``execution ID started; ... kept in PATH``)."""
    (kept,) = [line.rpartition(", kept in ")[2] for line in stderr.splitlines() if line.startswith("execution ")]
    document: dict[str, object] = json.loads(Path(kept).read_text(encoding="utf-8"))
    return document


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project directory the command runs in (the working directory, as `python -m` finds modules)."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if getattr(sys.modules[name], "__file__", "") and str(root) in str(sys.modules[name].__file__):
            del sys.modules[name]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


# -- which SDK ------------------------------------------------------------------------------------------------


def test_the_templates_are_told_apart_by_their_imports() -> None:
    v2 = written_for(TEMPLATE)
    assert v2.sdk == V2
    assert v2.because == "tests/parity/abalone_sdk_v2/pipeline.py:15 says import sagemaker.session"
    assert written_for("tests.parity.abalone_template.pipeline").sdk == V3
    assert written_for("showcase.pipeline").sdk == V3


def test_the_imports_of_the_project_are_followed_and_no_module_is_run(project: Path) -> None:
    write(
        project,
        {
            "flows/__init__.py": "raise RuntimeError('never run: the rule reads, it does not import')\n",
            "flows/pipe.py": "from . import _steps\nimport json\n\ndef get_pipeline():\n    return _steps.make()\n",
            "flows/_steps.py": "from flows.parts.deep import X\n",
            "flows/parts/__init__.py": "",
            "flows/parts/deep.py": "import os\nfrom sagemaker.workflow.steps import ProcessingStep as X\n",
            "plain.py": "import json, boto3\n\ndef get_pipeline():\n    pass\n",
        },
    )
    verdict = written_for("flows.pipe")
    assert verdict == written_for("flows.pipe") and verdict.sdk == V2
    assert verdict.because == "flows/parts/deep.py:2 says from sagemaker.workflow.steps import ProcessingStep"
    assert written_for("plain").sdk == V3 and written_for("plain").because is None


def test_a_module_of_both_sdks_is_refused_in_one_line(project: Path) -> None:
    write(project, {"mixed.py": "import sagemaker.session\nfrom sagemaker.core import image_uris\n"})
    both = r"'mixed' imports modules of both SageMaker Python SDKs \(mixed.py:1 says import sagemaker.session; "
    with pytest.raises(UsageError, match=both + r"mixed.py:2 says from sagemaker.core import image_uris\)"):
        written_for("mixed")


# -- the environment ------------------------------------------------------------------------------------------


def in_cache(cache: Path) -> dict[str, str]:
    """This environment with the user's cache directory at ``cache`` (uv's package cache kept where it is)."""
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "UV_CACHE_DIR": uv_cache_dir()}


def ensure_in(cache: Path) -> dict[str, object]:
    """v2env.ensure() in a process of its own with XDG_CACHE_HOME at ``cache``: where and whether it made it."""
    code = (
        "import json; from showcase import v2env; e = v2env.ensure(); "
        "print(json.dumps({'root': str(e.root), 'made': e.created_seconds is not None}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=in_cache(cache), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_environment_is_made_once_whole_and_then_reused(tmp_path: Path) -> None:
    """Two processes asking at once: one makes it, the other waits and uses it. What a creator that died left
    (a temporary directory, a directory under the final name without its marker) is cleared first."""
    cache = tmp_path / "cache"
    root = cache / "showcase" / "sdk-v2"
    key = v2env.digest()
    (root / f".{key}-died").mkdir(parents=True)
    (root / key / "venv").mkdir(parents=True)
    code = (
        "import json, logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
        "from showcase import v2env; e = v2env.ensure(); "
        "print(json.dumps({'root': str(e.root), 'made': e.created_seconds is not None}))"
    )
    env = in_cache(cache)
    first, second = (
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    )
    answers = [json.loads(process.communicate(timeout=600)[0]) for process in (first, second)]
    assert [answer["root"] for answer in answers] == [str(root / key)] * 2
    assert sorted(answer["made"] for answer in answers) == [False, True]
    assert sorted(path.name for path in root.iterdir()) == [key, f"{key}.lock"]
    python = root / key / "venv" / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version; print(version('sagemaker'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert version == SDK_V2_VERSION
    again = ensure_in(cache)
    assert again == {"root": str(root / key), "made": False}


def test_an_environment_that_cannot_be_made_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a first use without the package index: uv offline, with an empty cache of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    with pytest.raises(UsageError) as raised:
        build_locally(TEMPLATE, {}, region="us-east-1", account=ACCOUNT)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        f"-n/--module-name {TEMPLATE!r} is written for the SageMaker Python SDK v2 "
        "(tests/parity/abalone_sdk_v2/pipeline.py:15 says import sagemaker.session); "
        "the SDK v2 environment cannot be made in "
    )
    assert "uv sync failed: " in message and "needs the package index (PyPI)" in message
    root = tmp_path / "cache" / "showcase" / "sdk-v2"
    assert [path.name for path in root.iterdir()] == [f"{v2env.digest()}.lock"]


# -- the template, built and run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRun:
    home: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def template_run(tmp_path_factory: pytest.TempPathFactory, abalone_path: Path) -> TemplateRun:
    """`run_pipeline.py -n tests.parity.abalone_sdk_v2.pipeline --local`, twice, with no AWS setting at all."""
    sdk_v2_python()
    home = tmp_path_factory.mktemp("v2-home")
    kwargs = json.dumps({"local_data": str(abalone_path)})
    first = run_pipeline(home, "-n", TEMPLATE, "-k", kwargs)
    second = run_pipeline(home, "-n", TEMPLATE, "-k", kwargs, "--quiet-definition")
    return TemplateRun(home, first, second)


def reference_build(
    moto_endpoint: str, abalone_path: Path, tmp_path: Path
) -> tuple[dict[str, object], dict[str, bytes]]:
    """The template built by the SDK v2 itself against moto, with the role and bucket a local run passes:
    its definition and the objects it uploaded."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OFF)
    code = (
        "import sys; from tests.parity.abalone_sdk_v2.pipeline import get_pipeline; "
        "print(get_pipeline(region='us-east-1', role=sys.argv[1], default_bucket='showcase-local', "
        "local_data=sys.argv[2]).definition())"
    )
    s3 = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    env = no_aws_env(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(config),
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
        PYTHONPATH=str(REPO),
    )
    result = subprocess.run(
        [str(sdk_v2_python()), "-c", code, execution_role_arn(ACCOUNT), str(abalone_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    listed = s3.list_objects_v2(Bucket="showcase-local").get("Contents", [])
    uploads = {item["Key"]: s3.get_object(Bucket="showcase-local", Key=item["Key"])["Body"].read() for item in listed}
    return json.loads(result.stdout.strip().splitlines()[-1]), uploads


def unstamped(value: object) -> object:
    return json.loads(STAMP.sub("<time>", json.dumps(value)))


def test_the_template_builds_in_the_v2_environment_as_the_sdk_v2_builds_it(
    template_run: TemplateRun, aws_env: dict[str, str], moto_endpoint: str, abalone_path: Path, tmp_path: Path
) -> None:
    first = template_run.first
    assert "Traceback" not in first.stderr and "cannot import" not in first.stderr
    said = [line for line in first.stderr.splitlines() if line.startswith("definition of AbalonePipeline")]
    assert said == [
        f"definition of AbalonePipeline: built with the SageMaker Python SDK {SDK_V2_VERSION} in the SDK v2 "
        "environment, as tests/parity/abalone_sdk_v2/pipeline.py:15 says import sagemaker.session"
    ]
    definition = definition_of(first.stderr)
    expected, uploaded = reference_build(moto_endpoint, abalone_path, tmp_path)
    assert unstamped(definition) == unstamped(expected)
    # What the SDK v2 looked like building it, step by step (the parts the local runtime reads).
    steps = {step["Name"]: step for step in definition["Steps"]}  # type: ignore[index, union-attr]
    assert [(name, step["Type"]) for name, step in steps.items()] == [
        ("PreprocessAbaloneData", "Processing"),
        ("TrainAbaloneModel", "Training"),
        ("EvaluateAbaloneModel", "Processing"),
        ("CheckMSEAbaloneEvaluation", "Condition"),
    ]
    training = steps["TrainAbaloneModel"]["Arguments"]
    assert training["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.0-1-cpu-py3")
    assert training["HyperParameters"]["silent"] == "0" and training["HyperParameters"]["objective"] == "reg:linear"
    assert training["RoleArn"] == execution_role_arn(ACCOUNT)
    assert steps["EvaluateAbaloneModel"]["PropertyFiles"] == [
        {"PropertyFileName": "AbaloneEvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    (register,) = steps["CheckMSEAbaloneEvaluation"]["Arguments"]["IfSteps"]
    assert register["Type"] == "RegisterModel" and register["Name"] == "RegisterAbaloneModel-RegisterModel"
    # Every object the SDK v2 uploaded while building is in the local store, byte for byte.
    store = ObjectStore(load(template_run.home).store_root)
    kept = {STAMP.sub("<time>", uri): store.get_bytes(uri) for uri in store.list("s3://showcase-local/")}
    for key, data in uploaded.items():
        assert kept[STAMP.sub("<time>", f"s3://showcase-local/{key}")] == data


def test_its_definition_runs_as_far_as_the_local_runtime_goes(template_run: TemplateRun) -> None:
    """The preprocessing (an SKLearnProcessor whose script hard-codes /opt/ml/processing) runs from the
    definition the SDK v2 built; what follows is the built-in XGBoost 1.0-1's, the runtime's concern."""
    store = ObjectStore(load(template_run.home).store_root)
    assert "PreprocessAbaloneData (Processing) Succeeded" in template_run.first.stderr
    outputs = [uri.rsplit("/", 1)[1] for uri in store.list("s3://showcase-local/AbalonePipeline/") if "/output/" in uri]
    assert sorted(set(outputs)) == ["test.csv", "train.csv", "validation.csv"]


def test_the_next_run_reuses_the_v2_definition_without_building(template_run: TemplateRun) -> None:
    said = [line for line in template_run.second.stderr.splitlines() if line.startswith("definition of")]
    assert said == [
        f"definition of AbalonePipeline: reused (SageMaker Python SDK {SDK_V2_VERSION}), nothing it was built "
        "from has changed (--rebuild builds it)"
    ]


# -- the build cache of an SDK v2 build -----------------------------------------------------------------------

ROLE_V2 = """
import sagemaker
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.pipeline import Pipeline

ROLE = sagemaker.get_execution_role()


def get_pipeline(name="RoleSeen"):
    return Pipeline(name=name, steps=[FailStep(name="Say", error_message=ROLE)])
"""
ROLE_V3 = """
from sagemaker.core.helper.session_helper import get_execution_role
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.pipeline import Pipeline

ROLE = get_execution_role()


def get_pipeline(name="RoleSeen"):
    return Pipeline(name=name, steps=[FailStep(name="Say", error_message=ROLE)])
"""


def test_a_kept_v2_build_is_reused_until_the_environment_changes(project: Path) -> None:
    sdk_v2_python()
    write(project, {"notebook_v2.py": ROLE_V2})
    home = project / ".showcase"
    cache = BuildCache(home / "definitions", FileDigests(home / "digests.json"))

    def build(name: str = "RoleSeen") -> Built:
        return cache.build(
            {"module": "notebook_v2", "name": name},
            lambda: build_locally("notebook_v2", {"name": name}, region="us-east-1", account=ACCOUNT, home=str(home)),
        )

    first = build()
    assert not first.cached and first.sdk == SDK_V2_VERSION
    again = build()
    assert again.cached, again.rebuilt_because
    assert again.sdk == SDK_V2_VERSION and again.definition == first.definition
    (kept,) = (home / "definitions").glob("*.json")
    entry = json.loads(kept.read_text())
    assert entry["inputs"]["sdk_v2_lock"] == v2env.digest()
    entry["inputs"]["sdk_v2_lock"] = "0" * 32  # as made by another lock, or for another interpreter
    kept.write_text(json.dumps(entry))
    rebuilt = build()
    assert not rebuilt.cached
    assert rebuilt.rebuilt_because == "the SDK v2 environment's lock or this interpreter changed"


# -- get_execution_role() -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [ROLE_V2, ROLE_V3], ids=["sdk-v2", "sdk-v3"])
def test_get_execution_role_in_a_build_is_the_local_execution_role(project: Path, source: str) -> None:
    """As in SageMaker Studio: the caller is that role assumed, and GetRole gives its ARN."""
    name = f"notebook_{'v2' if 'sagemaker.workflow' in source else 'v3'}"
    write(project, {f"{name}.py": source})
    built = build_locally(name, {}, region="eu-west-1", account="123456789012")
    (step,) = built.definition["Steps"]
    assert step["Arguments"]["ErrorMessage"] == execution_role_arn("123456789012")
    assert execution_role_arn("123456789012") == "arn:aws:iam::123456789012:role/showcase-local-execution"


# -- every failure, one line ----------------------------------------------------------------------------------

IMPORTS = {
    "sdk-v2": "from sagemaker.workflow.fail_step import FailStep\nfrom sagemaker.workflow.pipeline import Pipeline\n",
    "sdk-v3": "from sagemaker.mlops.workflow.fail_step import FailStep\n"
    "from sagemaker.mlops.workflow.pipeline import Pipeline\n",
}
FAILURES = {
    "syntax-error": (
        "def get_pipeline(:\n    pass\n",
        {},
        r"-n/--module-name 'broken': broken.py:3: SyntaxError: ",
    ),
    "import-error": (
        "import a_module_nobody_installed\n\ndef get_pipeline():\n    pass\n",
        {},
        r"-n/--module-name 'broken': importing it raised ModuleNotFoundError: No module named "
        r"'a_module_nobody_installed' \(at broken.py:3\)$",
    ),
    "raises-at-import": (
        "raise RuntimeError('no config.yaml here')\n",
        {},
        r"-n/--module-name 'broken': importing it raised RuntimeError: no config.yaml here \(at broken.py:3\)$",
    ),
    "raises-in-get-pipeline": (
        "def get_pipeline(region):\n    raise ValueError(f'no data for {region}')\n",
        {},
        r"-n/--module-name 'broken': get_pipeline raised ValueError: no data for us-east-1 \(at broken.py:4\)$",
    ),
    "no-get-pipeline": ("PIPELINE = None\n", {}, r"-n/--module-name 'broken' has no get_pipeline\(\*\*kwargs\)"),
    "bad-kwargs": (
        "def get_pipeline(region, role=None):\n    pass\n",
        {"roles": "x"},
        r"-k/--kwargs: get_pipeline of broken accepts no 'roles' \(did you mean 'role'\?\); it accepts region, role$",
    ),
    "definition-raises": (
        "def get_pipeline():\n    return Pipeline(name='P', steps=[FailStep(name='A'), FailStep(name='A')])\n",
        {},
        r"-n/--module-name 'broken': building the pipeline's definition\(\) raised ValueError: Pipeline steps "
        r"cannot have duplicate names\. [^()]*$",
    ),
}


@pytest.mark.parametrize("sdk", sorted(IMPORTS))
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_every_build_failure_is_one_line_naming_the_module_and_the_cause(project: Path, sdk: str, failure: str) -> None:
    body, kwargs, expected = FAILURES[failure]
    write(project, {"broken.py": IMPORTS[sdk] + body})
    with pytest.raises(UsageError, match=expected) as raised:
        build_locally("broken", kwargs, region="us-east-1", account=ACCOUNT)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("sdk", sorted(IMPORTS))
def test_the_command_line_says_a_failure_in_one_line(tmp_path: Path, sdk: str) -> None:
    """What used to end in a 36-line traceback: get_execution_role() outside a build's answers, here raised by
    the module itself as the SDK raises it."""
    write(
        tmp_path,
        {
            "notebook.py": IMPORTS[sdk]
            + "def get_pipeline():\n    raise ValueError('The current AWS identity is not a role')\n"
        },
    )
    result = run_pipeline(tmp_path / "home", "-n", "notebook", cwd=tmp_path, pythonpath=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: -n/--module-name 'notebook': get_pipeline raised ValueError: The current AWS identity is not a "
        "role (at notebook.py:4)"
    )


# -- publishing -----------------------------------------------------------------------------------------------


def test_publishing_builds_a_v2_module_in_its_environment_with_the_users_aws(
    aws_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module route for SageMaker: the SDK v2 uploads its code itself, to the AWS it is given (moto here)."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OFF)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    kwargs = {"region": "us-east-1", "role": "arn:aws:iam::123456789012:role/Publisher", "default_bucket": "pub"}
    built = build_for_publishing(TEMPLATE, kwargs)
    assert built.sdk == SDK_V2_VERSION and built.uploads == {} and built.pipeline_name == "AbalonePipeline"
    s3 = boto3.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="pub")["Contents"]]
    assert any(key.endswith("/preprocess.py") for key in keys) and any(key.endswith("/evaluate.py") for key in keys)
