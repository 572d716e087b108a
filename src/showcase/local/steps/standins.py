"""Which SageMaker images this host can stand in for, and with what.

A framework image is replaced by the host's Python when the libraries the image provides are
importable here. The table maps an ECR repository name to those modules; extend it to support more.
A custom image (your own ECR repository) cannot be stood in for: the local runtime has no Docker.
"""

from __future__ import annotations

import importlib.util
import re

FRAMEWORK_IMAGES: dict[str, tuple[str, ...]] = {
    "sagemaker-scikit-learn": ("sklearn",),
    "sagemaker-xgboost": ("xgboost",),
    "pytorch-training": ("torch",),
    "pytorch-inference": ("torch",),
    "tensorflow-training": ("tensorflow",),
    "tensorflow-inference": ("tensorflow",),
    "huggingface-pytorch-training": ("torch", "transformers"),
    "huggingface-pytorch-inference": ("torch", "transformers"),
    "mxnet-training": ("mxnet",),
    "mxnet-inference": ("mxnet",),
    "sagemaker-spark-processing": ("pyspark",),
}

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]
_IMAGE = re.compile(r"^[^/]+\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)(?::[^@]*)?(?:@.+)?$")


def repository(image_uri: str) -> str | None:
    """The ECR repository name of an image URI, or None when it is not an ECR image URI."""
    match = _IMAGE.match(image_uri)
    return match.group("repo") if match else None


def image_problem(image_uri: object) -> str | None:
    """Why this host cannot stand in for ``image_uri``, or None when it can (or the URI is not yet known)."""
    if not isinstance(image_uri, str):
        return None  # an expression, resolved at run time (run() checks again)
    repo = repository(image_uri)
    modules = FRAMEWORK_IMAGES.get(repo or "")
    if modules is None:
        known = ", ".join(sorted(FRAMEWORK_IMAGES))
        return (
            f"image {image_uri} is not a SageMaker framework image the local runtime can stand in for "
            f"(known repositories: {known})"
        )
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"image {image_uri} needs the Python package(s) {', '.join(missing)} on this host to run locally; "
            "install them in the runtime's environment"
        )
    return None
