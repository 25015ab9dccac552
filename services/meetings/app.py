"""The meetings service: the only wiring."""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.events.projection import Projection
from libs.service.app import ServiceDefinition, create_app
from services.meetings import api
from services.meetings.projections import JointInspectionProgress, MeetingsIndex, OrganizerUnits, reference
from services.meetings.watcher import watch_review_opinions


def projections(settings: Settings) -> list[Projection]:
    return [reference, OrganizerUnits(), MeetingsIndex(settings.tz), JointInspectionProgress()]


DEFINITION = ServiceDefinition(
    name="meetings",
    title="renda 会议服务（人代会、主席团会议、代表小组活动、视察、审议意见、县乡联动）",
    routers=[api.router],
    projections=projections,
    background=[watch_review_opinions],
)


def create(settings: Settings) -> FastAPI:
    return create_app(DEFINITION, settings)
