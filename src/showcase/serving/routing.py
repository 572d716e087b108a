"""Which variant answers a request, in one worker: weights, ``TargetVariant``, the shadow and a blue/green split.

A worker loads every model the deployment names (``Routes.load``), each with its own ``Batcher`` (rows of two
models never share a prediction), and keeps a model already loaded when a new generation names it again: adding
the green fleet of an update loads only the new models, and moving traffic between fleets loads nothing.

Routing a request, as SageMaker documents it:

1. During a blue/green update, the new fleet takes the request with probability ``new_share``, else the fleet
   serving before.
2. Within the fleet, a production variant is drawn with probability weight / sum of weights; the header
   ``X-Amzn-SageMaker-Target-Variant`` names one instead (from the fleet drawn, else the other fleet; a name
   neither has is the 400 ``ValidationError`` the runtime returns). A shadow variant cannot be targeted.
3. A variant whose model is an inference pipeline runs its containers in sequence (``containers``).
4. The fleet's shadow variant, if it has one, gets a copy of the request after the answer is sent; its answer is
   captured under its own variant name and never returned.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from showcase.serving.batching import Batcher
from showcase.serving.containers import load_front
from showcase.serving.contract import ScriptedContainer
from showcase.serving.deployment import Deployment
from showcase.serving.fleet import Fleet, Variant
from showcase.serving.model import LoadedModel, load_model


class UnknownVariant(Exception):
    """``X-Amzn-SageMaker-Target-Variant`` names no production variant of the endpoint."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Route:
    """One variant of one fleet, with its loaded model."""

    fleet_id: int
    variant: Variant
    model: LoadedModel
    batcher: Batcher
    front: tuple[ScriptedContainer, ...] = ()
    """An inference pipeline's containers before the XGBoost one, loaded in this worker (``containers``)."""

    @property
    def metrics_key(self) -> str:
        """``<fleet id>/<variant name>``: its metrics, apart from those of a same-named variant of another fleet."""
        return f"{self.fleet_id}/{self.variant.name}"


@dataclass(frozen=True)
class FleetRoutes:
    fleet: Fleet
    productions: tuple[Route, ...]
    cumulative: tuple[float, ...]
    shadow: Route | None

    def draw(self, chance: float) -> Route:
        for route, bound in zip(self.productions, self.cumulative, strict=True):
            if chance < bound:
                return route
        return self.productions[-1]

    def named(self, name: str) -> Route | None:
        return next((route for route in self.productions if route.variant.name == name), None)


Loader = Callable[[Variant, int], LoadedModel]


def _load(variant: Variant, generation: int) -> LoadedModel:
    return load_model(
        variant.model_dir,
        model_package_arn=variant.model_package_arn,
        generation=generation,
        unpickle=variant.unpickle,
    )


class Routes:
    """The routes of one generation of a deployment; immutable once built (a swap replaces the whole object)."""

    def __init__(self, generation: int, current: FleetRoutes, new: FleetRoutes | None, new_share: float) -> None:
        self.generation = generation
        self.current = current
        self.new = new
        self.new_share = new_share if new is not None else 0.0
        self._random = random.Random()

    @classmethod
    def load(
        cls, deployment: Deployment, *, reuse: Routes | None = None, fleet: Fleet | None = None, loader: Loader = _load
    ) -> Routes:
        """Load the deployment's models (raises ModelLoadError); models ``reuse`` holds are not loaded again.

        ``fleet`` replaces the deployment's serving fleet (a worker's fallback to the previous one)."""
        known = {route.variant.model_dir: route for route in (reuse.all_routes() if reuse else [])}

        def route(fleet_id: int, variant: Variant) -> Route:
            same = known.get(variant.model_dir)
            if same is not None:
                return Route(fleet_id, variant, same.model, same.batcher, same.front)
            model = loader(variant, deployment.generation)
            return Route(fleet_id, variant, model, Batcher(_constant(model)), load_front(variant.front))

        def routes_of(served: Fleet) -> FleetRoutes:
            productions = tuple(route(served.fleet_id, variant) for variant in served.variants)
            shares, running, cumulative = served.shares(), 0.0, []
            for variant in served.variants:
                running += shares[variant.name]
                cumulative.append(running)
            shadow = route(served.fleet_id, served.shadow) if served.shadow else None
            return FleetRoutes(served, productions, tuple(cumulative), shadow)

        current = routes_of(fleet or deployment.fleet)
        new = routes_of(deployment.new_fleet) if deployment.new_fleet is not None else None
        return cls(deployment.generation, current, new, deployment.new_share)

    def all_routes(self) -> list[Route]:
        found = []
        for fleet in (self.current, self.new):
            if fleet is not None:
                found += [*fleet.productions, *([fleet.shadow] if fleet.shadow else [])]
        return found

    @property
    def primary(self) -> Route:
        """The serving fleet's first production variant (``AllTraffic``)."""
        return self.current.productions[0]

    def pick(self, target: str | None = None) -> tuple[Route, Route | None]:
        """The route that answers, and the shadow route that gets a copy (or None)."""
        first, other = self.current, self.new
        if other is not None and self._random.random() < self.new_share:
            first, other = other, first
        if not target:
            return first.draw(self._random.random()), first.shadow
        for fleet in (first, other):
            chosen = fleet.named(target) if fleet is not None else None
            if fleet is not None and chosen is not None:
                return chosen, fleet.shadow
        raise UnknownVariant(target)

    def variant_names(self) -> list[str]:
        names: list[str] = []
        for fleet in (self.current, self.new):
            for route in fleet.productions if fleet else ():
                if route.variant.name not in names:
                    names.append(route.variant.name)
        return names


def _constant(model: LoadedModel) -> Callable[[], LoadedModel]:
    return lambda: model
