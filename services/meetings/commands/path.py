"""The command path of the meetings context: ids, who may act, load → check → decide → append.

Every handler is ``handler(command, context)``; the command names the aggregate it acts on.
An id that could not be an aggregate id (``a.b``, ``*``, a space, non-ASCII: nothing a subject
token may hold) is answered as unknown (404), never looked up.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from libs.auth.access import Scope, require_act, require_visible
from libs.auth.actor import Principal
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.events.subjects import stream_name
from libs.web.deps import CommandContext
from libs.web.errors import NotVisible
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain import meeting as mt
from services.meetings.domain import review_opinion as ro

S = TypeVar("S")
ID_NS = uuid.UUID("3c6f1e7a-9b2d-4f0e-8a1c-5d7e9f0b2a64")
ORGANISERS = ("county_staff", "township_staff")  # who runs meetings: the county, or the township's own staff
FEEDBACK_ROLES = ("organizer", "county_staff", "township_staff")
VALID_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def new_id(command_id: str, what: str) -> str:
    """Ids derive from the command id: a retry with the same ``Idempotency-Key`` names the same records."""
    return str(uuid.uuid5(ID_NS, f"{command_id}/{what}"))


def require_id(aggregate_id: str) -> str:
    """404 for an id no aggregate can have (as for an unknown one)."""
    if not isinstance(aggregate_id, str) or not VALID_ID.match(aggregate_id):
        raise NotVisible()
    return aggregate_id


# -- access ----------------------------------------------------------------------------------
def meeting_scope(m: mt.Meeting) -> Scope | None:
    if m.status == "new":
        return None
    return Scope(jurisdiction=m.body, deputy_ids=(*m.invitee_ids, *m.observers))


def opinion_scope(r: ro.ReviewOpinion) -> Scope | None:
    if r.status == "new":
        return None
    return Scope(jurisdiction=r.body, lead_unit=r.to_unit_id)


def joint_visible(p: Principal, j: ji.JointInspection) -> bool:
    """County (and city) staff over the county; a participating township's own staff."""
    if j.status == "new" or not p.is_staff:
        return False
    return p.sees(j.county) or any(p.sees(i.township) for i in j.inspections)


def require_meeting_visible(p: Principal, m: mt.Meeting) -> None:
    require_visible(p, meeting_scope(m))


def organiser(ctx: CommandContext) -> Callable[[Loaded[mt.Meeting]], None]:
    def check(loaded: Loaded[mt.Meeting]) -> None:
        require_act(ctx.principal, meeting_scope(loaded.state), ORGANISERS)

    return check


# -- load → check → decide → append ------------------------------------------------------------
async def run(
    ctx: CommandContext,
    agg: AggregateType[S],
    aggregate_id: str,
    check: Callable[[Loaded[S]], None],
    decide: Callable[[Loaded[S]], Awaitable[list[Event]]],
) -> Appended[S]:
    """Load, check access (404 unseen, 403 seen), skip a command already applied, decide, append."""
    loaded = await ctx.store.load(agg, require_id(aggregate_id))
    check(loaded)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), stream_name(agg.context), loaded.last_stream_seq)
    appended = await ctx.store.append(loaded, await decide(loaded), ctx.meta)
    ctx.answered(appended)
    return appended
