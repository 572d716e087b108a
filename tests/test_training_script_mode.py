"""Training that runs user code: SDK v2 script mode and a python ContainerEntrypoint, on hand-written arguments."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from showcase import local
from showcase.errors import StepFailed
from showcase.local.cache import cache_key
from showcase.local.jobs import JobContext
from showcase.local.processes.commands import NO_AWS_CONFIG
from showcase.local.steps import STEP_TYPES
from showcase.local.steps.user_code import V3_REFUSAL
from showcase.registry import Registry
from showcase.settings import Settings
from showcase.store import ObjectStore
from tests.local_fakes import condition, definition, fail, get, join, parameter

SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "s3://showcase-local"
SOURCE_TAR = f"{BUCKET}/code/sourcedir.tar.gz"
JOB = "pipelines-abc123def456-MyTraining"

TRAIN = """\
import argparse, json, os, pathlib, sys, time
import helper  # a second module of the source directory: the script runs from it

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--learning_rate", type=float)
parser.add_argument("--optimizer")
parser.add_argument("--crash", default="no")
parser.add_argument("--sleep", type=float, default=0)
args = parser.parse_args()
time.sleep(args.sleep)
if args.crash == "yes":
    print("epoch 1: loss nan", file=sys.stderr)
    raise SystemExit("training diverged: loss is nan")
numbers = [int(n) for n in pathlib.Path(os.environ["SM_CHANNEL_TRAIN"], "numbers.txt").read_text().split()]
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
(model / "weights").mkdir(exist_ok=True)
(model / "weights" / "sum.txt").write_text(str(helper.total(numbers) * args.epochs))
seen = {name: value for name, value in os.environ.items() if name.startswith(("SM_", "AWS_", "GREETING"))}
(model / "env.json").write_text(json.dumps({"env": seen, "argv": sys.argv[1:], "cwd": os.getcwd()}))
pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "metrics.json").write_text(json.dumps({"count": len(numbers)}))
print("trained on", len(numbers), "numbers")
"""
HELPER = "def total(numbers):\n    return sum(numbers)\n"


@pytest.fixture(autouse=True)
def without_container_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """These cases are the fallback: jobs on host paths (tests/test_container_view.py has the namespace view)."""
    monkeypatch.setenv("SHOWCASE_CONTAINER_VIEW", "off")


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "store")
    store.put_bytes(f"{BUCKET}/data/train/numbers.txt", b"1 2 3 4")
    store.put_bytes(f"{BUCKET}/data/validation/numbers.txt", b"5 6")
    store.put_bytes(SOURCE_TAR, tar_gz({"train.py": TRAIN, "helper.py": HELPER}))
    return store


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def channel(name: str, uri: Any = None) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri or f"{BUCKET}/data/{name}"}},
        "InputMode": "File",
    }


def script_mode_arguments(image: str = SKLEARN_IMAGE, **hyperparameters: str) -> dict[str, Any]:
    """What SDK v2's SKLearn estimator emits: framework parameters JSON-quoted, user ones as strings."""
    return {
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {
            "epochs": "3",
            "learning_rate": "0.1",
            "optimizer": '"adam"',
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"{SOURCE_TAR}"',
            "sagemaker_container_log_level": "20",
            "sagemaker_region": '"eu-west-1"',
            **hyperparameters,
        },
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/exec/model"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "Environment": {"GREETING": "hello"},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }


def entrypoint_arguments(entrypoint: list[str], container_arguments: list[str] | None = None) -> dict[str, Any]:
    arguments = script_mode_arguments()
    arguments["HyperParameters"] = {"epochs": "2"}
    arguments["AlgorithmSpecification"]["ContainerEntrypoint"] = entrypoint
    if container_arguments is not None:
        arguments["AlgorithmSpecification"]["ContainerArguments"] = container_arguments
    arguments["InputDataConfig"].append(channel("code"))
    return arguments


def make_context(tmp_path: Path, store: ObjectStore, registry: Registry, arguments: dict[str, Any]) -> JobContext:
    work_dir = tmp_path / "work"
    work_dir.mkdir(exist_ok=True)
    return JobContext(
        pipeline_name="TestPipeline",
        execution_id="abc123def456",
        step_name="MyTraining",
        step_type="Training",
        arguments=arguments,
        work_dir=work_dir,
        log=io.StringIO(),
        store=store,
        registry=registry,
    )


def run(context: JobContext) -> dict[str, Any]:
    return STEP_TYPES["Training"].executor.run(context)


@pytest.mark.parametrize("source", ["tar.gz", "prefix"])
def test_script_mode_runs_with_sagemaker_environment_on_host_paths(
    tmp_path: Path, store: ObjectStore, registry: Registry, source: str
) -> None:
    arguments = script_mode_arguments()
    if source == "prefix":
        store.put_bytes(f"{BUCKET}/code/src/train.py", TRAIN.encode())
        store.put_bytes(f"{BUCKET}/code/src/helper.py", HELPER.encode())
        arguments["HyperParameters"]["sagemaker_submit_directory"] = f'"{BUCKET}/code/src"'
    context = make_context(tmp_path, store, registry, arguments)
    properties = run(context)

    model_uri = f"{BUCKET}/exec/model/{JOB}/output/model.tar.gz"
    assert properties["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert properties["TrainingJobName"] == JOB and properties["TrainingJobStatus"] == "Completed"
    assert properties["HyperParameters"] == arguments["HyperParameters"]
    model = members(store.get_bytes(model_uri))
    assert sorted(model) == ["env.json", "weights/sum.txt"]
    assert model["weights/sum.txt"] == b"30"
    output = members(store.get_bytes(f"{BUCKET}/exec/model/{JOB}/output/output.tar.gz"))
    assert json.loads(output["metrics.json"]) == {"count": 4}

    seen = json.loads(model["env.json"])
    env, work = seen["env"], context.work_dir
    assert seen["argv"] == ["--epochs", "3", "--learning_rate", "0.1", "--optimizer", "adam"]
    assert Path(seen["cwd"]) == work / "code"
    directories = {
        "SM_MODEL_DIR": "model",
        "SM_INPUT_DIR": "input",
        "SM_INPUT_CONFIG_DIR": "input/config",
        "SM_OUTPUT_DIR": "output",
        "SM_OUTPUT_DATA_DIR": "output/data",
        "SM_OUTPUT_INTERMEDIATE_DIR": "output/intermediate",
        "SM_CHANNEL_TRAIN": "input/data/train",
        "SM_CHANNEL_VALIDATION": "input/data/validation",
    }
    for name, relative in directories.items():
        assert Path(env[name]) == work / relative and Path(env[name]).is_dir(), name
    assert not [name for name, value in env.items() if "/opt/ml" in value]
    assert {
        name: value for name, value in env.items() if name.startswith("AWS_")
    } == NO_AWS_CONFIG  # none of the host's
    assert env["GREETING"] == "hello"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "learning_rate": 0.1, "optimizer": "adam"}
    assert (env["SM_HP_EPOCHS"], env["SM_HP_LEARNING_RATE"], env["SM_HP_OPTIMIZER"]) == ("3", "0.1", "adam")
    assert "SM_HP_SAGEMAKER_PROGRAM" not in env
    assert (env["SM_NUM_GPUS"], env["SM_CURRENT_HOST"], json.loads(env["SM_HOSTS"])) == ("0", "algo-1", ["algo-1"])
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"]) == ("train.py", "train")
    assert env["SM_MODULE_DIR"].startswith(f"{BUCKET}/code/")
    assert json.loads(env["SM_USER_ARGS"]) == seen["argv"]
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["channel_input_dirs"]["train"] == env["SM_CHANNEL_TRAIN"]
    assert training_env["model_dir"] == env["SM_MODEL_DIR"] and training_env["job_name"] == JOB
    config = Path(env["SM_INPUT_CONFIG_DIR"])
    assert json.loads((config / "hyperparameters.json").read_text())["optimizer"] == "adam"
    assert sorted(json.loads((config / "inputdataconfig.json").read_text())) == ["train", "validation"]
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-1"
    assert "trained on 4 numbers" in context.log.getvalue()  # type: ignore[attr-defined]


def test_script_crash_is_step_failed_with_its_last_stderr_line(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    context = make_context(tmp_path, store, registry, script_mode_arguments(crash="yes"))
    with pytest.raises(
        StepFailed,
        match=rf"^AlgorithmError: TrainingJob {JOB}: the script exited with code 1: training diverged: loss is nan ",
    ):
        run(context)
    assert "epoch 1: loss nan" in context.log.getvalue()  # type: ignore[attr-defined]
    assert not store.exists(f"{BUCKET}/exec/model/{JOB}/output/model.tar.gz")


def test_script_mode_timeout(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    arguments = script_mode_arguments(sleep="30")
    arguments["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    with pytest.raises(StepFailed, match="ran longer than StoppingCondition.MaxRuntimeInSeconds=1"):
        run(make_context(tmp_path, store, registry, arguments))


def test_script_mode_program_missing_from_the_source(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    context = make_context(tmp_path, store, registry, script_mode_arguments(sagemaker_program='"fit.py"'))
    with pytest.raises(StepFailed, match=r"ClientError: sagemaker_program 'fit.py' is not in the source .*helper.py"):
        run(context)


def test_script_mode_refuses_an_unsafe_source_archive(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        tar.addfile(info, io.BytesIO(b""))
    store.put_bytes(SOURCE_TAR, buffer.getvalue())
    with pytest.raises(StepFailed, match=r"ClientError: sagemaker_submit_directory: refusing .*'\.\./escape\.py'"):
        run(make_context(tmp_path, store, registry, script_mode_arguments()))


def test_python_container_entrypoint_gets_paths_rewritten(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    store.put_bytes(f"{BUCKET}/data/code/train.py", TRAIN.encode())
    store.put_bytes(f"{BUCKET}/data/code/helper.py", HELPER.encode())
    fit = (
        "import json, os, pathlib, sys\n"
        "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
        "numbers = pathlib.Path(args['--train'], 'numbers.txt').read_text().split()\n"
        "pathlib.Path(args['--model-dir'], 'model.json').write_text(json.dumps(\n"
        "    {'args': args, 'count': len(numbers), 'hps': json.loads(os.environ['SM_HPS']),\n"
        "     'model_dir': os.environ['SM_MODEL_DIR']}))\n"
    )
    store.put_bytes(f"{BUCKET}/data/code/fit.py", fit.encode())
    arguments = entrypoint_arguments(
        ["python3", "/opt/ml/input/data/code/fit.py"],
        ["--model-dir", "/opt/ml/model", "--train", "/opt/ml/input/data/train", "--name", "opt"],
    )
    context = make_context(tmp_path, store, registry, arguments)
    assert STEP_TYPES["Training"].executor.problems(arguments) == []
    properties = run(context)
    model = json.loads(members(store.get_bytes(properties["ModelArtifacts"]["S3ModelArtifacts"]))["model.json"])
    work = context.work_dir
    assert model["args"] == {
        "--model-dir": str(work / "model"),
        "--train": str(work / "input/data/train"),
        "--name": "opt",
    }
    assert model["count"] == 4 and model["hps"] == {"epochs": 2} and model["model_dir"] == str(work / "model")


def test_sdk_v3_driver_and_other_programs_are_refused_before_running(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    problems = STEP_TYPES["Training"].executor.problems
    v3 = entrypoint_arguments(
        [
            "/bin/sh",
            "-c",
            "chmod +x /opt/ml/input/data/sm_drivers/sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh",
        ]
    )
    assert problems(v3) == [f"{V3_REFUSAL} (SHOWCASE_CONTAINER_VIEW=off)"]
    for entrypoint in (["/bin/sh", "-c", "python train.py"], ["/usr/local/bin/train"]):
        (found,) = problems(entrypoint_arguments(entrypoint))
        assert "only python/python3 running a script can train locally" in found
    (found,) = problems(entrypoint_arguments(["python3", "/opt/ml/code/fit.py"]))
    assert "must be a file the runtime stages, under /opt/ml/input/data/<channel>/" in found
    (found,) = problems(entrypoint_arguments(["python3", "/opt/ml/input/data/nowhere/fit.py"]))
    assert "(channels: train, validation, code)" in found

    context = make_context(tmp_path, store, registry, v3)
    with pytest.raises(StepFailed, match="SDK v3 ModelTrainer source_code jobs run SageMaker's sm_train.sh"):
        run(context)
    assert list(context.work_dir.iterdir()) == []  # nothing staged, nothing run


def test_script_mode_problems() -> None:
    problems = STEP_TYPES["Training"].executor.problems
    assert problems(script_mode_arguments()) == []
    custom = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-trainer:latest"
    (found,) = problems(script_mode_arguments(image=custom))
    assert found.startswith(f"image {custom} is not a SageMaker framework image the local runtime can stand in for")
    local_source = script_mode_arguments(sagemaker_submit_directory='"file:///home/me/src"')
    assert "local file:// sources are not supported" in problems(local_source)[0]
    assert "expected the name of a .py script" in problems(script_mode_arguments(sagemaker_program='"run.sh"'))[0]
    no_program = script_mode_arguments()
    del no_program["HyperParameters"]["sagemaker_program"]
    assert problems(no_program) == [
        "script mode needs HyperParameters.sagemaker_program (the entry point script) as well"
    ]


def test_changed_training_code_changes_the_cache_key(store: ObjectStore) -> None:
    arguments = script_mode_arguments()
    before = cache_key(STEP_TYPES["Training"], arguments, store)
    store.put_bytes(SOURCE_TAR, tar_gz({"train.py": TRAIN + "\n# changed\n", "helper.py": HELPER}))
    assert cache_key(STEP_TYPES["Training"], arguments, store) != before


def test_processing_then_script_mode_training_then_condition(tmp_path: Path) -> None:
    prep = (
        "import argparse, pathlib\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--output-dir')\n"
        "out = pathlib.Path(parser.parse_args().output_dir)\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'numbers.txt').write_text('10 20 30')\n"
    )
    processing = {
        "Name": "Prep",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": SKLEARN_IMAGE,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prep.py"],
                "ContainerArguments": ["--output-dir", "/opt/ml/processing/train"],
            },
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {"S3Uri": f"{BUCKET}/code/prep.py", "LocalPath": "/opt/ml/processing/input/code"},
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "train",
                        "S3Output": {
                            "S3Uri": join("/", BUCKET, get("Execution.PipelineExecutionId"), "train"),
                            "LocalPath": "/opt/ml/processing/train",
                        },
                    }
                ]
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}},
        },
    }
    arguments = script_mode_arguments()
    arguments["HyperParameters"]["epochs"] = get("Parameters.Epochs")
    arguments["InputDataConfig"] = [
        channel("train", get("Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"))
    ]
    arguments["OutputDataConfig"] = {"S3OutputPath": join("/", BUCKET, get("Execution.PipelineExecutionId"), "model")}
    training = {"Name": "Train", "Type": "Training", "Arguments": arguments}
    check = condition(
        "Trained",
        [{"Type": "Equals", "LeftValue": get("Steps.Train.TrainingJobStatus"), "RightValue": "Completed"}],
        [],
        [fail("NotTrained", "training did not complete")],
    )
    settings = Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=2)
    record = local.run_definition(
        definition([processing, training, check], [parameter("Epochs", "Integer", 2)]),
        pipeline_name="ScriptModePipeline",
        parameters={"Epochs": 4},
        uploads={
            f"{BUCKET}/code/prep.py": prep.encode(),
            SOURCE_TAR: tar_gz({"train.py": TRAIN, "helper.py": HELPER}),
        },
        settings=settings,
    )
    statuses = {step.name: step.status for step in record.steps}
    assert record.status == "Succeeded", [step.failure_reason for step in record.steps]
    assert statuses == {"Prep": "Succeeded", "Train": "Succeeded", "Trained": "Succeeded", "NotTrained": "Skipped"}
    assert record.step("Trained").properties["Outcome"] is True
    model_uri = record.step("Train").properties["ModelArtifacts"]["S3ModelArtifacts"]
    job = f"pipelines-{record.execution_id}-Train"
    assert model_uri == f"{BUCKET}/{record.execution_id}/model/{job}/output/model.tar.gz"
    model = members(ObjectStore(settings.store_root).get_bytes(model_uri))
    assert model["weights/sum.txt"] == b"240"  # (10 + 20 + 30) * Epochs=4
