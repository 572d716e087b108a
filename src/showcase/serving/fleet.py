"""An endpoint config's variants: which model packages serve, with what weights, and the shadow.

The endpoint template's parameters say it (``deploy/endpoint-cloudformation.yml``), and mean the same here:

    ModelPackageName              the production variant ``AllTraffic``
    ChallengerModelPackageName    a second production variant ``Challenger`` (empty: none); the traffic share of
    PrimaryVariantWeight,         each variant is its weight over the sum of the weights, as for
    ChallengerVariantWeight       ProductionVariants[].InitialVariantWeight
    ShadowModelPackageName        the shadow variant ``Shadow`` (empty: none): it gets a copy of every request, its
                                  answers are captured and never returned; only beside one production variant, as
                                  CreateEndpointConfig's ShadowProductionVariants allows

A ``Fleet`` is what one endpoint config deploys: its variants with their extracted models. Its ``fleet_id`` is the
generation that first deployed it, so the metrics of a new fleet (the green one of a blue/green update) never mix
with those of the fleet it replaces, even where the two share a variant name.

Each worker holds every variant's model (see ``routing``): on SageMaker each variant has instances of its own, but
here a worker is a process of one machine, and routing inside the worker keeps one listening socket, one arbiter
and no extra hop; the models are small. What the separation would protect against, one variant's crash taking
another down, the arbiter covers by replacing a worker.
"""

from __future__ import annotations

import logging
import math
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from showcase.archives import ArchiveError, extract_model_archive
from showcase.errors import RegistryError, UsageError
from showcase.registry import Registry
from showcase.registry.provenance import unpickle_permission
from showcase.serving.containers import FrontSpec, check_front_in_own_process, containers_problems, label_of
from showcase.serving.errors import ModelLoadError
from showcase.settings import Settings
from showcase.statuses import ApprovalStatus
from showcase.store import ObjectStore, StoreError

logger = logging.getLogger(__name__)
PRIMARY, CHALLENGER, SHADOW = "AllTraffic", "Challenger", "Shadow"


@dataclass(frozen=True)
class VariantSpec:
    """A variant as the config names it, before its package is resolved."""

    name: str
    model_package_arn: str
    weight: float = 1.0


@dataclass(frozen=True)
class Variant:
    """A variant whose model package resolved, extracted and loaded: what a worker serves."""

    name: str
    model_package_arn: str
    model_data_url: str
    model_dir: str
    weight: float = 1.0
    unpickle: bool = False
    """Whether its workers may unpickle its ``xgboost-model``: decided when it was deployed (this home trained the
    archive, or pickled models are allowed), and checked then in a process of its own."""
    front: tuple[FrontSpec, ...] = ()
    """An inference pipeline's containers before the XGBoost one (``containers``), run in sequence in the worker."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_package_arn": self.model_package_arn,
            "model_data_url": self.model_data_url,
            "model_dir": self.model_dir,
            "weight": self.weight,
            "unpickle": self.unpickle,
            **({"front": [spec.to_json() for spec in self.front]} if self.front else {}),
        }

    def front_dirs(self) -> list[str]:
        return [spec.model_dir for spec in self.front]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Variant:
        return cls(
            raw["name"],
            raw["model_package_arn"],
            raw.get("model_data_url", ""),
            raw["model_dir"],
            raw["weight"],
            raw.get("unpickle") is True,
            tuple(FrontSpec.from_json(spec) for spec in raw.get("front") or ()),
        )


@dataclass(frozen=True)
class Fleet:
    """The production variants (at least one) and the shadow of one endpoint config."""

    fleet_id: int
    variants: tuple[Variant, ...]
    shadow: Variant | None = None

    @property
    def primary(self) -> Variant:
        return self.variants[0]

    def shares(self) -> dict[str, float]:
        """Each production variant's share of the fleet's traffic: weight / sum of weights."""
        total = sum(variant.weight for variant in self.variants)
        return {variant.name: variant.weight / total for variant in self.variants}

    def model_dirs(self) -> set[str]:
        return {path for variant in self.all_variants() for path in (variant.model_dir, *variant.front_dirs())}

    def all_variants(self) -> tuple[Variant, ...]:
        return (*self.variants, self.shadow) if self.shadow else self.variants

    def packages(self) -> dict[str, str]:
        """``{variant name: model package ARN}``, the shadow included."""
        return {variant.name: variant.model_package_arn for variant in self.all_variants()}

    def to_json(self) -> dict[str, Any]:
        return {
            "fleet_id": self.fleet_id,
            "variants": [variant.to_json() for variant in self.variants],
            "shadow": self.shadow.to_json() if self.shadow else None,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Fleet:
        shadow = raw.get("shadow")
        return cls(
            int(raw["fleet_id"]),
            tuple(Variant.from_json(v) for v in raw["variants"]),
            Variant.from_json(shadow) if shadow else None,
        )

    @classmethod
    def single(cls, fleet_id: int, model_package_arn: str, model_data_url: str, model_dir: str) -> Fleet:
        """One production variant ``AllTraffic`` (what an endpoint config without a challenger or shadow makes)."""
        return cls(fleet_id, (Variant(PRIMARY, model_package_arn, model_data_url, model_dir),))


def _weight(parameters: Mapping[str, str], name: str, default: str, source: str) -> float:
    text = parameters.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{source}: {name} must be a number of at least 0, got {text!r}")
    return value


def variant_specs(parameters: Mapping[str, str], source: str) -> tuple[tuple[VariantSpec, ...], VariantSpec | None]:
    """The production variants and the shadow the config's parameters name, checked before anything loads."""
    primary = parameters.get("ModelPackageName")
    if not primary:
        raise UsageError(
            f"{source} names no ModelPackageName; write it with deploy/build_config_file.py "
            "(the newest Approved package of a group)"
        )
    challenger = parameters.get("ChallengerModelPackageName", "")
    shadow = parameters.get("ShadowModelPackageName", "")
    if challenger and shadow:
        raise UsageError(
            f"{source}: ChallengerModelPackageName and ShadowModelPackageName are both given; SageMaker serves a "
            "shadow variant beside one production variant only: give one of them"
        )
    if not challenger:
        return (VariantSpec(PRIMARY, primary),), (VariantSpec(SHADOW, shadow) if shadow else None)
    weights = (
        _weight(parameters, "PrimaryVariantWeight", "0.9", source),
        _weight(parameters, "ChallengerVariantWeight", "0.1", source),
    )
    if sum(weights) <= 0:
        raise UsageError(
            f"{source}: PrimaryVariantWeight and ChallengerVariantWeight are both 0; no variant would take traffic"
        )
    return (VariantSpec(PRIMARY, primary, weights[0]), VariantSpec(CHALLENGER, challenger, weights[1])), None


def prepare_fleet(
    parameters: Mapping[str, str], settings: Settings, models_dir: Path, *, fleet_id: int, source: str
) -> Fleet:
    """Resolve, extract and load every variant's model package; nothing is left behind if one of them fails."""
    productions, shadow_spec = variant_specs(parameters, source)
    made: list[Variant] = []
    try:
        for spec in (*productions, *([shadow_spec] if shadow_spec else [])):
            made.append(_prepare_variant(spec, settings, models_dir, source))
    except (ModelLoadError, UsageError):
        for variant in made:
            shutil.rmtree(variant.model_dir, ignore_errors=True)
        raise
    shadow = made[-1] if shadow_spec else None
    return Fleet(fleet_id, tuple(made[: len(productions)]), shadow)


def _prepare_variant(spec: VariantSpec, settings: Settings, models_dir: Path, source: str) -> Variant:
    arn = spec.model_package_arn
    field = {PRIMARY: "ModelPackageName", CHALLENGER: "ChallengerModelPackageName"}.get(
        spec.name, "ShadowModelPackageName"
    )
    registry = Registry.from_settings(settings)
    try:
        package = registry.describe_model_package(ModelPackageName=arn)
    except RegistryError as exc:
        raise UsageError(f"{source}: {field}: {exc}") from None
    status = package.get("ModelApprovalStatus")
    if status != ApprovalStatus.APPROVED:
        force = " --force" if status == ApprovalStatus.REJECTED else ""
        raise UsageError(
            f"model package {arn} ({field}) is {status}, not Approved; approve it (showcase registry approve "
            f"{arn}{force}, or UpdateModelPackage) and deploy again"
        )
    containers = package["InferenceSpecification"]["Containers"]
    problems = containers_problems(containers, None, f"model package {arn}: ") if len(containers) > 1 else []
    if problems:
        raise UsageError("; ".join(problems))
    container = containers[-1]
    url = container.get("ModelDataUrl")
    if not url:
        raise ModelLoadError(f"model package {arn} has no ModelDataUrl", model_package_arn=arn)
    store = ObjectStore(settings.store_root)
    group, version = arn.rsplit("/", 2)[-2:]
    model_dir = models_dir / group / f"{version}-{uuid.uuid4().hex[:8]}"
    front = tuple(
        FrontSpec(label_of(raw, index), f"{model_dir}-container-{index + 1}", raw.get("Environment") or {})
        for index, raw in enumerate(containers[:-1])
    )
    try:
        for raw, front_spec in zip(containers, front, strict=False):
            extract_archive(_archive(store, arn, str(raw["ModelDataUrl"])), Path(front_spec.model_dir), arn=arn)
            check_front_in_own_process(front_spec, model_package_arn=arn)
        archive = _archive(store, arn, url)
        unpickle = _extract_and_check(archive, model_dir, settings, arn=arn, image=str(container.get("Image", "")))
    except (ModelLoadError, RegistryError):
        for path in (str(model_dir), *(front_spec.model_dir for front_spec in front)):
            shutil.rmtree(path, ignore_errors=True)
        raise
    return Variant(spec.name, arn, url, str(model_dir), spec.weight, unpickle, front)


def _archive(store: ObjectStore, arn: str, url: str) -> Path:
    try:
        archive = store.path_of(url)
    except StoreError as exc:
        raise ModelLoadError(f"{arn}: ModelDataUrl {url}: {exc}", model_package_arn=arn) from exc
    if not archive.is_file():
        raise ModelLoadError(f"{arn}: ModelDataUrl {url} does not exist in the object store", model_package_arn=arn)
    return archive


def extract_archive(archive: Path, model_dir: Path, *, arn: str) -> None:
    try:
        extract_model_archive(archive, model_dir)
    except ArchiveError as exc:
        raise ModelLoadError(f"{arn}: {exc}", model_package_arn=arn) from exc


def _extract_and_check(archive: Path, model_dir: Path, settings: Settings, *, arn: str, image: str) -> bool:
    """Extract and load the model; whether workers may unpickle it.

    A pickled ``xgboost-model`` (the images before 1.3-1) is loaded only when this home's training job wrote the
    archive or the settings allow it, and then in a process of its own, as the workers will: never in this one.
    """
    from showcase.serving.model import check_in_own_process, is_pickled, load_model

    extract_archive(archive, model_dir, arn=arn)
    if is_pickled(model_dir):
        permission = unpickle_permission(archive, settings.registry_path, allowed=settings.allow_pickled_models)
        if permission is not None:
            logger.info("%s: a pickled xgboost-model may be loaded: %s", arn, permission)
            check_in_own_process(model_dir, model_package_arn=arn, image=image)
            return True
    load_model(model_dir, model_package_arn=arn, image=image)
    return False
