"""The built-in XGBoost image's version, read from its tag, and what follows from it for the model file.

``sagemaker-xgboost:1.0-1-cpu-py3`` is version ``1.0-1``; ``sagemaker-xgboost:3.2-0`` is ``3.2-0``. The images
before 1.3-1 save ``xgboost-model`` with pickle and load it with pickle first; from 1.3-1 on they save it with
``Booster.save_model`` (the container's ``algorithm_mode/train.py`` on each version's branch).
"""

from __future__ import annotations

import re

_IMAGE_VERSION = re.compile(r":(\d+)\.(\d+)-(\d+)")
FIRST_WITHOUT_PICKLE = (1, 3)


def image_version(image: str) -> str | None:
    """``1.0-1`` for ``...sagemaker-xgboost:1.0-1-cpu-py3``; None when the URI has no such tag."""
    match = _IMAGE_VERSION.search(image)
    return f"{match.group(1)}.{match.group(2)}-{match.group(3)}" if match else None


def writes_pickle(image: str) -> bool:
    """Whether the built-in image of this tag saves ``xgboost-model`` with pickle (0.90-1 to 1.2-2). A URI without a
    version tag is taken as the newest image."""
    match = _IMAGE_VERSION.search(image)
    return match is not None and (int(match.group(1)), int(match.group(2))) < FIRST_WITHOUT_PICKLE
