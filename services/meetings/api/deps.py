"""What every route of the meetings API shares: who may call, the input base model, read-your-writes."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from libs.web.deps import CommandContext, command_context, parse_positions
from libs.web.errors import ReadModelBehind
from services.meetings import commands

STAFF = ("city_staff", "county_staff", "township_staff")
RUNS = commands.ORGANISERS  # county staff, township (street) staff
READS = (*STAFF, "deputy")
CODE = r"^\d{4}(\d{2}(\d{3})?)?$"


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


async def after_writes(request: Request, ctx: CommandContext) -> None:
    """Commands honour ``Renda-After`` too: facts (members, jurisdictions, units) read from this service's tables."""
    positions = parse_positions(request.headers.get("renda-after"))
    if positions and not await ctx.runtime.caught_up(positions, ctx.runtime.settings.read_wait_seconds):
        raise ReadModelBehind()


def Run() -> Any:
    return Depends(command_context(*RUNS))
