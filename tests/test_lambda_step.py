"""Lambda steps run locally: the SDK's Lambda helper's code kept by the offline build, the handler run in a job
process with its event and context, its outputs typed and read by later steps, its errors in Lambda's shape."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from showcase import functions
from showcase.archives import ArchiveError, extract_zip_archive
from showcase.builder.modules import build_locally
from showcase.local import run_definition
from showcase.local.steps.output_parameters import typed
from showcase.settings import Settings
from showcase.statuses import StepStatus
from showcase.store import ObjectStore
from tests.reliability_support import clean_env

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lambda"
ACCOUNT = "000000000000"


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=2)


def build(**kwargs: Any) -> Any:
    return build_locally("tests.lambda_pipeline", kwargs, region="us-east-1", account=ACCOUNT)


def run_built(tmp_path: Path, built: Any, **parameters: Any) -> Any:
    return run_definition(
        built.definition, pipeline_name=built.pipeline_name, uploads=built.uploads, settings=settings(tmp_path),
        parameters=parameters,
    )  # fmt: skip


def deploy_zip(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(FIXTURES / "deploy.py", "deploy.py")
    return path


def test_the_build_keeps_the_code_of_functions_made_with_script_and_zipped_code_dir(tmp_path: Path) -> None:
    zipped = deploy_zip(tmp_path)
    built = build(callback=True, code_zip=str(zipped))
    steps = {step["Name"]: step for step in built.definition["Steps"]}
    assert steps["Describe"]["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:showcase-describe"
    store = _store_of(tmp_path, built.uploads)
    describe = functions.load(store, functions.reference("showcase-describe", "us-east-1", ACCOUNT))
    assert (describe["Handler"], describe["Timeout"], describe["Runtime"]) == ("describe.handler", 120, "python3.8")
    package = zipfile.ZipFile(io.BytesIO(functions.code(store, describe)))
    assert package.read("describe.py") == (FIXTURES / "describe.py").read_bytes()
    deploy = functions.load(store, functions.reference("showcase-deploy", "us-east-1", ACCOUNT))
    assert functions.code(store, deploy) == zipped.read_bytes()
    assert deploy["Environment"] == {"Variables": {"STAGE": "staging"}}


def test_a_lambda_steps_outputs_feed_a_condition_and_the_execution_succeeds(tmp_path: Path) -> None:
    record = run_built(tmp_path, build())
    assert record.status == "Succeeded", record.failure_reason
    describe = record.step("Describe")
    assert describe.properties["OutputParameters"] == {"Count": 6, "Label": "abalone-showcase-describe", "Ok": True}
    assert record.step("Enough").properties["Outcome"] is True
    assert record.step("TooFew").status == StepStatus.SKIPPED
    log = Path(str(describe.log_path)).read_text()
    assert "START RequestId:" in log and "REPORT RequestId:" in log


def test_a_count_below_the_parameter_takes_the_else_branch(tmp_path: Path) -> None:
    record = run_built(tmp_path, build(), MinCount=7)
    assert record.status == "Failed"
    assert record.step("TooFew").status == StepStatus.FAILED
    assert "the function counted too few" in str(record.failure_reason)


def test_a_handler_that_raises_fails_the_step_in_lambdas_error_shape(tmp_path: Path) -> None:
    record = run_built(tmp_path, build(handler="describe.broken"))
    assert record.status == "Failed"
    reason = str(record.step("Describe").failure_reason)
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:showcase-describe"
    prefix = f"Lambda function {arn} failed with an unhandled error: "
    assert reason.startswith(prefix)
    shape = json.loads(reason.removeprefix(prefix))
    assert set(shape) == {"errorMessage", "errorType", "stackTrace"}
    assert (shape["errorMessage"], shape["errorType"]) == ("no endpoint named 'abalone'", "ValueError")
    assert 'File "/var/task/describe.py"' in shape["stackTrace"][0]


def _lambda_definition(function: str, outputs: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            {
                "Name": "L",
                "Type": "Lambda",
                "Arguments": {"x": 1},
                "FunctionArn": function,
                "OutputParameters": outputs,
            }
        ],
    }


def _save(tmp_path: Path, name: str, source: str, **request: Any) -> None:
    store = ObjectStore(settings(tmp_path).store_root)
    ref = functions.reference(name, "us-east-1", ACCOUNT)
    package = functions.zip_of({"fn.py": source.encode()})
    functions.save(store, functions.configuration(ref, package, {"Handler": "fn.handler", **request}), package)


def test_a_function_past_its_timeout_fails_as_lambda_times_out(tmp_path: Path) -> None:
    _save(tmp_path, "slow", "import time\ndef handler(event, context):\n    time.sleep(30)\n", Timeout=1)
    record = run_definition(_lambda_definition("slow", []), pipeline_name="P", settings=settings(tmp_path))
    reason = str(record.step("L").failure_reason)
    assert '"errorType": "Sandbox.Timedout"' in reason and "Task timed out after 1.00 seconds" in reason


def test_a_declared_output_the_handler_does_not_return_fails_the_step_naming_it(tmp_path: Path) -> None:
    _save(tmp_path, "partial", "def handler(event, context):\n    return {'a': event['x']}\n")
    outputs = [{"OutputName": "a", "OutputType": "Integer"}, {"OutputName": "b", "OutputType": "String"}]
    record = run_definition(_lambda_definition("partial", outputs), pipeline_name="P", settings=settings(tmp_path))
    assert "output 'b' is declared in OutputParameters" in str(record.step("L").failure_reason)


def test_a_function_that_exists_nowhere_locally_says_how_to_make_it(tmp_path: Path) -> None:
    record = run_definition(_lambda_definition("elsewhere", []), pipeline_name="P", settings=settings(tmp_path))
    assert "--lambda elsewhere=path/to/file.py:handler" in str(record.step("L").failure_reason)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (3, "Integer", 3),
        ("3", "Integer", 3),
        (2.5, "Float", 2.5),
        ("true", "Boolean", True),
        (False, "Boolean", False),
        (True, "String", "true"),
        ({"a": 1}, "String", '{"a": 1}'),
        ("text", "String", "text"),
    ],
)
def test_outputs_are_typed_as_declared(value: Any, kind: str, expected: Any) -> None:
    assert typed([{"OutputName": "o", "OutputType": kind}], {"o": value}, "the result") == {"o": expected}


@pytest.mark.parametrize(("value", "kind"), [(2.5, "Integer"), ("yes", "Boolean"), (True, "Integer"), ([1], "Float")])
def test_a_value_that_is_not_of_its_type_is_named(value: Any, kind: str) -> None:
    with pytest.raises(ValueError, match=f"output 'o' of the result is .* not a {kind}"):
        typed([{"OutputName": "o", "OutputType": kind}], {"o": value}, "the result")


def test_a_deployment_package_that_escapes_its_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="could escape"):
        extract_zip_archive(functions.zip_of({"../evil.py": b"x"}), tmp_path / "task")
    assert not (tmp_path / "evil.py").exists()


def _store_of(tmp_path: Path, uploads: dict[str, bytes]) -> ObjectStore:
    store = ObjectStore(tmp_path / "built")
    for uri, data in uploads.items():
        store.put_bytes(uri, data)
    return store


NOTIFY = "def handler(event, context):\n    return {'sent': event['x'] + 1, 'arn': context.invoked_function_arn}\n"
AWS_ONLY = "arn:aws:lambda:eu-west-1:123456789012:function:notify"


def start(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    outputs = [{"OutputName": "sent", "OutputType": "Integer"}, {"OutputName": "arn"}]
    definition = tmp_path / "aws-only.json"
    definition.write_text(json.dumps(_lambda_definition(AWS_ONLY, outputs)))
    command = [sys.executable, "-m", "showcase", "--home", str(tmp_path / "home"), "--json", "start"]
    return subprocess.run(
        [*command, "--definition", str(definition), *flags], env=clean_env(), text=True, capture_output=True,
        timeout=120,
    )  # fmt: skip


def test_a_function_that_exists_only_in_aws_runs_the_file_mapped_to_it(tmp_path: Path) -> None:
    (tmp_path / "notify.py").write_text(NOTIFY)
    done = start(tmp_path, "--lambda", f"{AWS_ONLY}={tmp_path / 'notify.py'}:handler")
    assert done.returncode == 0, done.stderr
    (step,) = json.loads(done.stdout)["PipelineExecutionSteps"]
    assert step["Metadata"]["Lambda"] == {
        "Arn": AWS_ONLY,
        "OutputParameters": [{"Name": "sent", "Value": "2"}, {"Name": "arn", "Value": AWS_ONLY}],
    }


def test_a_lambda_file_maps_functions_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "notify.py").write_text(NOTIFY)
    (tmp_path / "lambdas.txt").write_text(f"# functions that exist only in AWS\n\n{AWS_ONLY}=code/notify.py:handler\n")
    done = start(tmp_path, "--lambda-file", str(tmp_path / "lambdas.txt"))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        ("notify", "expected NAME_OR_ARN=FILE.py:HANDLER"),
        ("notify=missing.py:handler", "--lambda notify: cannot read 'missing.py': No such file"),
        ("bad name!=x.py:handler", "is not a valid FunctionName"),
    ],
)
def test_a_wrong_mapping_is_one_line(tmp_path: Path, flag: str, says: str) -> None:
    done = start(tmp_path, "--lambda", flag)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_on_run_a_mapping_wins_over_the_code_the_build_kept(tmp_path: Path) -> None:
    other = "def handler(event, context):\n    return {'Count': 1, 'Label': 'x', 'Ok': False}\n"
    (tmp_path / "other.py").write_text(other)
    repo = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "showcase", "--home", str(tmp_path / "home"), "run", "-n", "tests.lambda_pipeline"]
    done = subprocess.run(
        [*command, "--lambda", f"showcase-describe={tmp_path / 'other.py'}:handler"], cwd=repo, text=True,
        env=clean_env(PYTHONPATH=f"{repo}{os.pathsep}{repo / 'src'}"), capture_output=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1  # Count 1 < MinCount 4: the Fail step
    assert "Describe  Lambda     Succeeded" in done.stdout and "the function counted too few" in done.stdout


def test_the_runtimes_own_modules_are_not_importable_by_the_handler(tmp_path: Path) -> None:
    """The runtime's directory is not on the handler's sys.path: ``analyzer``, a module beside it, is not found."""
    store = ObjectStore(settings(tmp_path).store_root)
    ref = functions.reference("named", "us-east-1", ACCOUNT)
    source = (
        b"import importlib.util\n"
        b"def handler(event, context):\n    return {'alone': importlib.util.find_spec('analyzer') is None}\n"
    )
    package = functions.zip_of({"main.py": source})
    functions.save(store, functions.configuration(ref, package, {"Handler": "main.handler"}), package)
    outputs = [{"OutputName": "alone", "OutputType": "Boolean"}]
    record = run_definition(_lambda_definition("named", outputs), pipeline_name="P", settings=settings(tmp_path))
    assert record.step("L").properties["OutputParameters"] == {"alone": True}, record.failure_reason
