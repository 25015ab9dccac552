"""The deputies service: the only wiring."""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.service.app import ServiceDefinition, create_app
from services.deputies import api, api_bodies, api_duty, auth_api
from services.deputies.config import DeputiesSettings
from services.deputies.directory_projection import Directory
from services.deputies.dossier_projection import DutyRecords
from services.deputies.projections import DeputyRegistry, JurisdictionTree

DEFINITION = ServiceDefinition(
    name="deputies",
    title="renda 代表服务（区划、代表、代表小组、主席团、履职）",
    # Fixed paths before ``/{deputy_id}``: ``api.record_router`` comes last.
    routers=[api.router, auth_api.router, api_bodies.router, api_duty.router, api.record_router],
    projections=lambda settings: [JurisdictionTree(), Directory(), DeputyRegistry(), DutyRecords(settings.tz)],
    extra_prefixes=("/api/auth",),
)


def create(settings: Settings) -> FastAPI:
    app = create_app(DEFINITION, settings)
    app.state.deputies_config = DeputiesSettings()
    return app
