"""The suggestions service: the only wiring."""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.service.app import ServiceDefinition, create_app
from services.suggestions.api import opinions, oversight, revision, suggestions, units
from services.suggestions.projections import all_projections
from services.suggestions.reactions import reactions  # joint-inspection finding → suggestion
from services.suggestions.watcher import run_deadline_watcher

DEFINITION = ServiceDefinition(
    name="suggestions",
    title="renda 代表建议服务（交办、面商、答复、评价、督办、五公开）",
    # Static paths (units, opinions) before ``/{suggestion_id}``.
    routers=[units.router, opinions.router, suggestions.router, oversight.router, revision.router],
    projections=all_projections,
    reactions=reactions,
    background=[run_deadline_watcher],
)


def create(settings: Settings) -> FastAPI:
    return create_app(DEFINITION, settings)
