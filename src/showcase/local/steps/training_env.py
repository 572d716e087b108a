"""SageMaker's training environment for user code, pointing at the job's host directories.

What the sagemaker-training toolkit (``sagemaker_training.environment``, documented in its
``ENVIRONMENT_VARIABLES.md``) gives a framework container's script, with every ``/opt/ml`` path mapped into
the job's ``work_dir`` (see ``common.host_path``), so the script never needs ``/opt/ml`` on the host:

- directories: ``SM_MODEL_DIR`` (``model``), ``SM_INPUT_DIR`` (``input``), ``SM_INPUT_CONFIG_DIR``
  (``input/config``, holding ``hyperparameters.json``, ``inputdataconfig.json`` and ``resourceconfig.json``
  as on SageMaker), ``SM_OUTPUT_DIR`` (``output``), ``SM_OUTPUT_DATA_DIR`` (``output/data``, uploaded as
  ``output.tar.gz``), ``SM_OUTPUT_INTERMEDIATE_DIR`` (``output/intermediate``), and ``SM_CHANNELS`` (JSON
  list) with ``SM_CHANNEL_<NAME>`` (upper-cased) per channel;
- hyperparameters: ``SM_HPS`` (JSON of the user's hyperparameters, each JSON-decoded where it can be, as
  the toolkit does) and ``SM_HP_<NAME>`` per hyperparameter (strings as they are, other values as compact
  JSON); the ``sagemaker_*`` framework parameters are not the user's and appear in neither;
- the cluster, always one host: ``SM_HOSTS`` (``["algo-1"]``), ``SM_CURRENT_HOST`` (``algo-1``),
  ``SM_NUM_CPUS`` (this machine's), ``SM_NUM_GPUS`` (``0``), ``SM_NETWORK_INTERFACE_NAME``,
  ``SM_RESOURCE_CONFIG``, ``SM_INPUT_DATA_CONFIG``, ``SM_LOG_LEVEL``;
- script mode only: ``SM_USER_ENTRY_POINT``, ``SM_MODULE_NAME``, ``SM_USER_ARGS`` and ``SM_MODULE_DIR``
  (the ``s3://`` URI of the submitted source, as on SageMaker; the code itself is the working directory);
- ``SM_TRAINING_ENV``: all of the above as one JSON object, with the toolkit's key names.

Not set: distributed-training settings (``SM_FRAMEWORK_PARAMS``, MPI, SMDDP), ``SM_FRAMEWORK_MODULE``,
``SM_CHECKPOINT_*``; the local runtime trains on one host without GPUs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from showcase.local.steps.common import DEFAULT_INSTANCE_TYPE, host_path

HOST = "algo-1"
GROUP = "homogeneousCluster"
CONTAINER_DIRS = {
    "model_dir": "/opt/ml/model",
    "input_dir": "/opt/ml/input",
    "input_config_dir": "/opt/ml/input/config",
    "output_dir": "/opt/ml/output",
    "output_data_dir": "/opt/ml/output/data",
    "output_intermediate_dir": "/opt/ml/output/intermediate",
}
FRAMEWORK_PREFIX = "sagemaker_"
LOG_LEVEL = 20  # logging.INFO, the toolkit's default


def as_text(value: Any) -> str:
    """Hyperparameters are strings on SageMaker; pipeline parameters may resolve to numbers or booleans."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def raw_hyperparameters(arguments: Mapping[str, Any]) -> dict[str, str]:
    """A training job's ``HyperParameters`` as SageMaker holds them: every name and value a string."""
    return {str(key): as_text(value) for key, value in (arguments.get("HyperParameters") or {}).items()}


def decode_hyperparameter(value: Any) -> Any:
    """A hyperparameter as the toolkit reads it: JSON-decoded where it is JSON, else the string itself."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def user_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """The script's hyperparameters: decoded, without the SDK's ``sagemaker_*`` framework parameters."""
    return {
        str(name): decode_hyperparameter(value)
        for name, value in hyperparameters.items()
        if not str(name).startswith(FRAMEWORK_PREFIX)
    }


def command_line_arguments(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``--name value`` per hyperparameter, sorted by name, as ``sagemaker_training.mapping.to_cmd_args``."""
    arguments = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        arguments.append(f"--{name}" if len(name) > 1 else f"-{name}")
        if isinstance(value, dict):
            arguments.append(",".join(f"{key}={item}" for key, item in sorted(value.items())))
        else:
            arguments.append("" if value is None else str(value))
    return arguments


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ScriptInfo:
    """What script mode adds to the environment."""

    entry_point: str
    module_dir: str
    arguments: list[str]


def training_environment(
    work_dir: Path,
    *,
    job_name: str,
    channels: Mapping[str, Mapping[str, Any]],
    hyperparameters: Mapping[str, Any],
    script: ScriptInfo | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    in_view: bool = False,
) -> dict[str, str]:
    """The ``SM_*`` variables for a job in ``work_dir``; creates the directories and config files they name.

    ``channels`` maps a channel name to its ``InputDataConfig`` entry; ``hyperparameters`` are the user's,
    already decoded (``user_hyperparameters``). ``in_view``: the job sees ``work_dir`` as ``/opt/ml``
    (``container``), so the variables name the container's paths; else they name the host's.
    """

    def visible(container: str) -> Path:
        return Path(container) if in_view else host_path(work_dir, container)

    created = [host_path(work_dir, container) for container in CONTAINER_DIRS.values()]
    created += [host_path(work_dir, f"/opt/ml/input/data/{name}") for name in channels]
    for directory in created:
        directory.mkdir(parents=True, exist_ok=True)
    paths = {key: visible(container) for key, container in CONTAINER_DIRS.items()}
    channel_dirs = {name: visible(f"/opt/ml/input/data/{name}") for name in channels}
    resource_config = _resource_config(instance_type)
    input_data_config = _input_data_config(channels)
    config_dir = host_path(work_dir, CONTAINER_DIRS["input_config_dir"])
    (config_dir / "hyperparameters.json").write_text(
        json.dumps({name: _env_value(value) for name, value in hyperparameters.items()})
    )
    (config_dir / "inputdataconfig.json").write_text(json.dumps(input_data_config))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resource_config))
    summary: dict[str, Any] = {
        **{key: str(path) for key, path in paths.items()},
        "channel_input_dirs": {name: str(path) for name, path in channel_dirs.items()},
        "current_host": HOST,
        "hosts": [HOST],
        "hyperparameters": dict(hyperparameters),
        "input_data_config": input_data_config,
        "job_name": job_name,
        "log_level": LOG_LEVEL,
        "network_interface_name": "eth0",
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "resource_config": resource_config,
    }
    if script is not None:
        summary.update(
            user_entry_point=script.entry_point,
            module_name=script.entry_point.removesuffix(".py"),
            module_dir=script.module_dir,
        )
    return _variables(summary, channel_dirs, hyperparameters, script)


def _resource_config(instance_type: str) -> dict[str, Any]:
    """``resourceconfig.json``: one host, in one instance group."""
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": [HOST],
        "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type, "hosts": [HOST]}],
        "network_interface_name": "eth0",
    }


def _input_data_config(channels: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``inputdataconfig.json``: each channel's input mode, distribution, record wrapper and content type."""
    return {
        name: {
            "TrainingInputMode": spec.get("InputMode", "File"),
            "S3DistributionType": (spec.get("DataSource", {}).get("S3DataSource") or {}).get(
                "S3DataDistributionType", "FullyReplicated"
            ),
            "RecordWrapperType": spec.get("RecordWrapperType", "None"),
            **({"ContentType": spec["ContentType"]} if "ContentType" in spec else {}),
        }
        for name, spec in channels.items()
    }


def _variables(
    summary: dict[str, Any],
    channel_dirs: Mapping[str, Path],
    hyperparameters: Mapping[str, Any],
    script: ScriptInfo | None,
) -> dict[str, str]:
    """The ``SM_*`` variables of ``summary`` (the toolkit's training environment), with its JSON as
    ``SM_TRAINING_ENV``."""
    not_variables = {"channel_input_dirs", "hyperparameters", "job_name"}  # SM_CHANNEL_*, SM_HPS; JSON only
    env = {f"SM_{key.upper()}": _env_value(value) for key, value in summary.items() if key not in not_variables}
    env.update({f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channel_dirs.items()})
    env.update({f"SM_HP_{name.upper()}": _env_value(value) for name, value in hyperparameters.items()})
    env["SM_CHANNELS"] = json.dumps(sorted(channel_dirs))
    env["SM_HPS"] = _env_value(dict(hyperparameters))
    if script is not None:
        env["SM_USER_ARGS"] = json.dumps(script.arguments)
    env["SM_TRAINING_ENV"] = json.dumps(summary, sort_keys=True)
    env["TRAINING_JOB_NAME"] = summary["job_name"]  # set in every SageMaker training container
    return env
