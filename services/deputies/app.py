"""The deputies service: the only wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.config.settings import Settings
from libs.service.app import ServiceDefinition, create_app
from services.deputies.api import ROUTERS
from services.deputies.commands.context import POLICY
from services.deputies.domain.rules import DEFAULT_GOVERNMENT_SECTORS, Policy
from services.deputies.projections import DeputyRegistry, Directory, DutyRecords, JurisdictionTree


class DeputiesSettings(BaseSettings):
    """Rules provinces and counties set for themselves (prefix ``RENDA_``), each with a default."""

    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore", frozen=True)

    inactive_months: int = Field(default=6, ge=1, le=60)  # no activity this long: inactive
    large_townships: str = ""  # comma separated codes whose presidium may have up to 15 members
    government_sectors: str = ",".join(DEFAULT_GOVERNMENT_SECTORS)  # sectors that are a government office

    def policy(self) -> Policy:
        return Policy(
            inactive_months=self.inactive_months,
            large_townships=frozenset(c.strip() for c in self.large_townships.split(",") if c.strip()),
            government_sectors=tuple(s.strip() for s in self.government_sectors.split(",") if s.strip()),
        )


DEFINITION = ServiceDefinition(
    name="deputies",
    title="renda 代表服务（区划、代表、代表小组、主席团、履职）",
    routers=ROUTERS,
    projections=lambda settings: [JurisdictionTree(), Directory(), DeputyRegistry(), DutyRecords(settings.tz)],
    extra_prefixes=("/api/auth",),
)


def create(settings: Settings) -> FastAPI:
    app = create_app(DEFINITION, settings)
    policy = DeputiesSettings().policy()
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with started(a) as state:
            a.state.runtime.extras[POLICY] = policy  # the handlers' and routes' plain rule values
            yield state

    app.router.lifespan_context = lifespan
    return app
