"""Route of the compliance facts: sessions, presidium meetings per quarter and gaps, group activities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from libs.domain.times import DateInRange
from libs.web.deps import ReadContext, read_context
from services.meetings import queries
from services.meetings.api.deps import CODE, STAFF

router = APIRouter()


@router.get("/compliance")
async def get_compliance(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF))],
    year: Annotated[int, Query(ge=1949, le=2200)],
    township: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    under: Annotated[str | None, Query(pattern=CODE)] = None,
    as_of: DateInRange | None = None,
) -> dict[str, Any]:
    """Sessions per township and year, presidium meetings per quarter and the longest gap, group activities."""
    if as_of is None:
        today = datetime.now(UTC).astimezone(ctx.runtime.settings.tz).date()
        as_of = today if today.year == year else None
    items = await queries.compliance(ctx.runtime, ctx.principal, under=township or under or "", year=year, as_of=as_of)
    if township:
        items = [i for i in items if i["township"] == township]
    return {"year": year, "as_of": as_of or date(year, 12, 31), "items": items}
