"""The suggestions service: the only wiring."""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.events.projection import Projection
from libs.service.app import ServiceDefinition, create_app
from services.suggestions import api, api_more, api_oversight
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.due_index import DueIndex
from services.suggestions.projections import SuggestionLists, reference
from services.suggestions.rate_records import RateRecords
from services.suggestions.reactions import reactions  # joint-inspection finding → suggestion
from services.suggestions.watcher import run_deadline_watcher


def projections(settings: Settings) -> list[Projection]:
    return [reference, SuggestionLists(), DueIndex(SuggestionPolicy.from_settings(settings)), RateRecords()]


DEFINITION = ServiceDefinition(
    name="suggestions",
    title="renda 代表建议服务（交办、面商、答复、评价、督办、五公开）",
    routers=[api_more.router, api.router, api_oversight.router],
    projections=projections,
    reactions=reactions,
    background=[run_deadline_watcher],
)


def create(settings: Settings) -> FastAPI:
    return create_app(DEFINITION, settings)
