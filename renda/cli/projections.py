"""Finding a projection by name across the services (for ``renda replay``)."""

from __future__ import annotations

from libs.config.settings import Settings
from libs.events.locator import locator_projection
from libs.events.projection import Projection
from libs.events.subjects import CONTEXTS
from renda import registry


def all_projections(settings: Settings) -> list[tuple[str, Projection]]:
    out: list[tuple[str, Projection]] = []
    for name in registry.available():
        app = registry.factory(name)(settings)
        defn = app.state.definition
        if name in CONTEXTS:
            out.append((name, locator_projection(name)))
        out.extend((name, p) for p in defn.projections(settings))
    return out


def find_projection(settings: Settings, name: str) -> tuple[str, Projection] | None:
    return next(((s, p) for s, p in all_projections(settings) if p.name == name), None)
