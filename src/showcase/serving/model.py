"""Load and check an XGBoost model for serving: refuse what XGBoost cannot load before any traffic sees it.

A model directory is what ``model.tar.gz`` extracts to; the model is its ``xgboost-model`` file, in XGBoost's
own format (UBJSON or JSON) or, as the built-in images before 1.3-1 write it, a pickled Booster. The container
loads it with pickle first, then ``Booster.load_model`` (``algorithm_mode/serve_utils.py``); here a pickle is
unpickled only when the caller passes ``unpickle=True``: a job or worker process whose runner decided that this
archive may be (``showcase.serving.provenance``); everywhere else it is refused from its first byte, unread.
Loading sets ``nthread=1``: each server worker is one process with one OpenMP thread, as in the built-in
container, so workers do not fight over the cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xgboost as xgb

from showcase.archives import ArchiveError, extract_model_archive
from showcase.serving.errors import ModelLoadError
from showcase.serving.versions import image_version, writes_pickle

MODEL_FILE = "xgboost-model"
ALLOWANCE = "SHOWCASE_ALLOW_PICKLED_MODELS=true (or --allow-pickled-models)"
PICKLE_PROTOCOL = b"\x80"
"""The first byte of every pickle of protocol 2 or later (what Python 3 writes by default)."""


@dataclass(frozen=True)
class LoadedModel:
    """A booster that has loaded and answered a probe prediction, and where it came from."""

    booster: xgb.Booster
    num_features: int
    model_package_arn: str
    generation: int

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.inplace_predict(rows, validate_features=False))


def load_model(
    model_dir: str | os.PathLike[str],
    *,
    model_package_arn: str = "",
    generation: int = 0,
    image: str = "",
    unpickle: bool = False,
) -> LoadedModel:
    """Load ``model_dir/xgboost-model`` and probe it with one row of missing values; raises ModelLoadError.

    A pickled model (what the built-in XGBoost images before 1.3-1 write) is unpickled only with ``unpickle``,
    else refused unread; ``image`` (the model's inference image) names the version in the refusal.
    """
    path = Path(model_dir) / MODEL_FILE
    what = model_package_arn or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(
            f"{what}: the model archive holds no {MODEL_FILE!r} file (expected the built-in XGBoost layout)",
            model_package_arn=model_package_arn,
        ) from None
    except OSError as exc:
        raise ModelLoadError(
            f"{what}: cannot read {path}: {exc.strerror}", model_package_arn=model_package_arn
        ) from None
    pickled = data[:1] == PICKLE_PROTOCOL
    if pickled and not unpickle:
        version = image_version(image) if writes_pickle(image) else None
        version = version or "before 1.3-1"
        raise ModelLoadError(
            f"{what}: {MODEL_FILE} is a Python pickle, as the built-in XGBoost image {version} writes it "
            "(versions 0.90-1 to 1.2-x); it is unpickled only when this home's own training job wrote the archive "
            f"(its sha256 in the lineage) or {ALLOWANCE} allows it: train it here, allow it, or train with image "
            "1.3-1 or later, which saves it with Booster.save_model",
            model_package_arn=model_package_arn,
        )
    try:
        booster = _unpickled(data) if pickled else xgb.Booster(params={"nthread": 1})
        if not pickled:
            booster.load_model(bytearray(data))
        booster.set_param({"nthread": 1})
        num_features = booster.num_features()
        if num_features < 1:
            raise ValueError("the model has no features")
        probe = np.asarray(booster.inplace_predict(np.full((1, num_features), np.nan), validate_features=False))
    except (xgb.core.XGBoostError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"{what}: XGBoost cannot load {MODEL_FILE} ({first_line[:200]}); it must be saved with Booster.save_model",
            model_package_arn=model_package_arn,
        ) from exc
    if probe.size != 1 or not np.isfinite(probe).all():
        shown = probe.item() if probe.size == 1 else probe.ravel()[:4].tolist()
        raise ModelLoadError(
            f"{what}: XGBoost loads {MODEL_FILE}, but its probe prediction is {shown}, not one finite number per "
            "row; the endpoint would answer that to every request",
            model_package_arn=model_package_arn,
        )
    return LoadedModel(booster, num_features, model_package_arn, generation)


def _unpickled(data: bytes) -> xgb.Booster:
    """The Booster of a pickled ``xgboost-model``, as the container's ``serve_utils.get_loaded_booster`` reads it;
    called only in a job or worker process that was given the permission."""
    import pickle

    try:
        booster = pickle.loads(data)  # an archive this home trained, or one the user allowed
    except Exception as exc:  # anything a foreign pickle raises: it is not a model this XGBoost can read
        raise ValueError(f"unpickling failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(booster, xgb.Booster):
        raise ValueError(f"the pickle holds a {type(booster).__name__}, not an xgboost Booster")
    return booster


def is_pickled(model_dir: str | os.PathLike[str]) -> bool:
    """Whether ``model_dir/xgboost-model`` is a pickle, from its first byte alone (nothing is unpickled)."""
    try:
        with (Path(model_dir) / MODEL_FILE).open("rb") as file:
            return file.read(1) == PICKLE_PROTOCOL
    except OSError:
        return False


def check_in_own_process(model_dir: str | os.PathLike[str], *, model_package_arn: str, image: str) -> int:
    """Load a pickled model, with the permission, in a process of its own (as a worker will), never in this one;
    its number of features, or ModelLoadError with the reason the loading process gave."""
    command = [sys.executable, "-m", __name__, str(model_dir), model_package_arn, image]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"the check exited with code {done.returncode}"]
        raise ModelLoadError(lines[-1], model_package_arn=model_package_arn)
    return int(done.stdout.strip())


def main(argv: list[str]) -> int:
    """``python -m showcase.serving.model MODEL_DIR ARN IMAGE``: load a pickled model with the permission the
    deploying process decided, probe it and print its number of features (``check_in_own_process``)."""
    model_dir, arn, image = argv
    try:
        model = load_model(model_dir, model_package_arn=arn, image=image, unpickle=True)
    except ModelLoadError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(model.num_features)
    return 0


def extract_and_check(
    archive: str | os.PathLike[str], dest: str | os.PathLike[str], *, model_package_arn: str, image: str = ""
) -> LoadedModel:
    """Extract ``model.tar.gz`` into ``dest`` (which must not exist yet) and load the model from it."""
    try:
        extract_model_archive(archive, dest)
    except ArchiveError as exc:
        raise ModelLoadError(f"{model_package_arn}: {exc}", model_package_arn=model_package_arn) from exc
    return load_model(dest, model_package_arn=model_package_arn, image=image)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
