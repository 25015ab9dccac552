"""The deputies service: the only wiring."""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.service.app import ServiceDefinition, create_app
from services.deputies import api, auth_api
from services.deputies.directory_projection import Directory
from services.deputies.projections import JurisdictionTree

DEFINITION = ServiceDefinition(
    name="deputies",
    title="renda 代表服务（区划、代表、代表小组、主席团、履职）",
    routers=[api.router, auth_api.router],
    projections=lambda settings: [JurisdictionTree(), Directory()],
    extra_prefixes=("/api/auth",),
)


def create(settings: Settings) -> FastAPI:
    return create_app(DEFINITION, settings)
