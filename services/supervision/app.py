"""The supervision service: the joint-supervision read side and the zh-CN dashboard at ``/``."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from libs.config.settings import Settings
from libs.events.projection import Projection
from libs.reference.deputies import reference_projection
from libs.service.app import ServiceDefinition, create_app
from libs.service.runtime import ServiceRuntime
from services.supervision import answers, api
from services.supervision.projections import DutyFacts, MeetingFacts, SuggestionFacts
from services.supervision.web import pages

reference, reference_tables = reference_projection("supervision")


def projections(settings: Settings) -> list[Projection]:
    return [reference, SuggestionFacts(settings.tz), MeetingFacts(settings.tz), DutyFacts()]


async def precompute(rt: ServiceRuntime) -> None:
    """The township tables and overdue boards counted in the background (``answers``)."""
    await answers.refresh(rt, reference_tables)


DEFINITION = ServiceDefinition(
    name="supervision",
    title="renda 县乡联动监督（监督视图与工作台）",
    routers=[api.router, pages.router],
    projections=projections,
    web_root=True,
    background=[precompute],
)


def create(settings: Settings) -> FastAPI:
    app = create_app(DEFINITION, settings)
    app.state.reference = reference_tables
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    return app
