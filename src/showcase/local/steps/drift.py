"""The drift-check semantics QualityCheck and ClarifyCheck steps share, as SageMaker documents them.

SkipCheck false      the new results are checked against the drift-check baseline: the Supplied* baseline, else
                     the DriftCheckBaselines of the newest Approved package in ModelPackageGroupName; none is a
                     failure that says what to give
RegisterNewBaseline  BaselineUsedForDriftCheck* are the newly calculated files when it (or SkipCheck) is true,
                     else the baseline that was checked against
FailOnViolation      (default true) a violation fails the step; false: the violations are written, it succeeds
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from showcase.errors import NoApprovedPackage, NoSuchModelPackageGroup, RegistryError
from showcase.local.jobs import JobContext
from showcase.local.steps.common import fail
from showcase.registry.latest import latest_approved_package

Baseline = tuple[str, ...]
"""The S3 URIs of a baseline's files: (statistics, constraints) of QualityCheck, (constraints,) of ClarifyCheck."""


def flag(value: object, *, default: bool) -> bool:
    """A step-level boolean field, as a definition writes it (a JSON boolean, or a resolved parameter's string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return default


@dataclass(frozen=True)
class Drift:
    """What a check step does with its baselines."""

    skip: bool
    register_new: bool
    previous: Baseline | None
    """The baseline to check against or carry over (None: none, or not needed)."""

    @property
    def checked_against(self) -> Baseline | None:
        return None if self.skip else self.previous

    def used(self, calculated: Baseline) -> Baseline:
        """BaselineUsedForDriftCheck*: the new files, or the baseline carried over."""
        return calculated if self.skip or self.register_new or self.previous is None else self.previous


def decide(
    context: JobContext,
    supplied: tuple[object, ...],
    from_package: Callable[[dict[str, Any]], Baseline | None],
    field: str,
) -> Drift:
    """The step's ``Drift``: ``supplied`` (every URI given) wins over the approved package's (``from_package`` reads
    its DriftCheckBaselines; ``field`` names them in the failure that says no baseline was found)."""
    arguments = context.arguments
    skip = flag(arguments.get("SkipCheck"), default=False)
    register_new = flag(arguments.get("RegisterNewBaseline"), default=False)
    previous = None
    if not (skip and register_new):
        given = all(isinstance(uri, str) and uri for uri in supplied)
        previous = tuple(str(uri) for uri in supplied) if given else _from_registry(context, from_package)
    if not skip and previous is None:
        fields = " and ".join(f"SuppliedBaseline{name}" for name in ("Statistics", "Constraints")[-len(supplied) :])
        raise fail(
            context,
            f"SkipCheck is false but there is no baseline to check against: give {fields}, or approve a package in "
            f"ModelPackageGroupName {arguments.get('ModelPackageGroupName')!r} that has DriftCheckBaselines.{field} "
            "(or run with SkipCheck true)",
        )
    if not (skip or register_new) and previous is None:
        raise fail(
            context,
            "RegisterNewBaseline is false but there is no earlier baseline to carry over: supply one, or run "
            "with RegisterNewBaseline true",
        )
    return Drift(skip, register_new, previous)


def fails_on_violation(context: JobContext) -> bool:
    return flag(context.arguments.get("FailOnViolation"), default=True)


def _from_registry(context: JobContext, from_package: Callable[[dict[str, Any]], Baseline | None]) -> Baseline | None:
    group = context.arguments.get("ModelPackageGroupName")
    if not isinstance(group, str) or not group:
        return None
    try:
        newest = latest_approved_package(context.registry, group)
        package = context.registry.describe_model_package(ModelPackageName=newest["ModelPackageArn"])
    except (NoApprovedPackage, NoSuchModelPackageGroup):
        return None
    except RegistryError as exc:
        context.log.write(f"no earlier baseline from {group!r}: {exc}\n")
        return None
    uris = from_package(dict(package))
    if uris is not None:
        context.log.write(f"drift-check baseline of {package['ModelPackageArn']}: {uris[-1]}\n")
    return uris
