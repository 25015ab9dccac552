"""What the routes of this context share: roles, field shapes, the policy, today's date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import Field

from libs.auth.access import STAFF_ROLES
from libs.web.deps import ReadContext, runtime
from services.deputies.commands.context import POLICY
from services.deputies.domain.rules import Policy

STAFF_AND_DEPUTY = (*STAFF_ROLES, "deputy")
Township = Annotated[str, Field(min_length=9, max_length=9, pattern=r"^\d{9}$", description="乡镇（街道）9 位区划代码")]
TownshipQuery = Annotated[str | None, Query(pattern=r"^\d{9}$")]
TownshipParam = Annotated[str, Query(pattern=r"^\d{9}$", description="乡镇（街道）9 位区划代码")]
DeputyId = Annotated[str, Field(min_length=1, max_length=64)]
Ids = Annotated[list[DeputyId], Field(max_length=1000)]


def _policy(request: Request) -> Policy:
    found = runtime(request).extras.get(POLICY)
    return found if isinstance(found, Policy) else Policy()


PolicyDep = Annotated[Policy, Depends(_policy)]


def read_today(ctx: ReadContext) -> date:
    return datetime.now(ctx.runtime.settings.tz).date()
