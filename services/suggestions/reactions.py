"""Event-driven process of the suggestions service: a joint inspection's finding becomes a suggestion.

The meetings context records ``InspectionFindingRecorded``; a finding that names an organizer unit
is to become a suggestion (source ``joint_inspection``, ``source_id`` = the finding id) submitted
by the deputies who raised it and assigned to that unit by the county committee that launched the
joint inspection (normal complexity, ``due_at`` from the configured policy).

It runs as a projection of the meetings stream with its own checkpoint, committed by the runner in
the same SQL transaction as ``apply``, and issues the service's own commands (``commands/suggestions.py``) as
the system: no access check, every domain rule (a terminated deputy is refused as at the API).
Exactly one suggestion per finding, whatever is redelivered:
- the suggestion id and both command ids derive from the finding id (uuid5), so a redelivered
  finding, a second event for the same finding, a replay from zero or a crash between the two
  appends re-executes commands the store recognises as applied (their causation ids), and an
  assignment that was not stored yet is completed;
- a refusal of the domain is final (deciding again decides the same), so it is recorded in this
  projection's table and logged instead of blocking the stream; any other error (NATS, a lost
  race) rolls the batch back and the runner retries it from the checkpoint.

A finding without deputies raises no suggestion: ``decide_submit`` refuses one without a lead
deputy (代表建议 is a deputy's), so the finding stays a finding (outcome ``no_deputies``). A unit
that is not a registered organizer unit of the joint inspection's county gets no assignment: the
suggestion stays ``submitted`` for the staff to assign (outcome ``submitted``). Each finding's
outcome is kept in ``suggestions_from_findings`` (``assigned``, ``submitted``, ``no_deputies`` or
``refused:<code>``) for the operator.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import structlog
from sqlalchemy import Column, DateTime, MetaData, String, Table, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.domain.errors import DomainError
from libs.events.envelope import Actor, Envelope
from libs.events.projection import Projection
from libs.events.store import CommandMeta
from libs.service.runtime import ServiceRuntime
from services.meetings.events import InspectionFindingRecorded
from services.suggestions.commands import references
from services.suggestions.commands import suggestions as commands
from services.suggestions.commands.context import Context
from services.suggestions.domain.commands import AssignSuggestion, SubmitSuggestion
from services.suggestions.domain.state import SUGGESTION

log = structlog.get_logger("suggestions.reactions")

NAME = "suggestions-from-findings"
FINDING_NS = uuid.UUID("0c3e8f52-6a1b-4d7e-8f20-9b4a5c6d7e81")
# Who acts: this process, with the authority of the county committee that launched the inspection.
ACTOR = Actor(subject=f"system:{NAME}", role="county_staff")
TITLE_PREFIX = "县乡联动检查发现："
TITLE_CHARS = 40
CATEGORY = "县乡联动"
RESPONSIBLE_LEADER = "由承办单位确定"  # "三落实": the unit names its leader; the finding does not

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- what a finding becomes (pure) -----------------------------------------------------------------
@dataclass(frozen=True)
class FindingIds:
    suggestion_id: str
    submit_command_id: str
    assign_command_id: str


def ids_for(finding_id: str) -> FindingIds:
    """The same finding always gives the same suggestion and command ids."""

    def derive(part: str) -> str:
        return str(uuid.uuid5(FINDING_NS, f"{finding_id}/{part}"))

    return FindingIds(derive("suggestion"), derive("submit"), derive("assign"))


def title_of(description: str) -> str:
    text = " ".join(description.split())
    return TITLE_PREFIX + (text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…")


def submission(e: InspectionFindingRecorded, suggestion_id: str) -> SubmitSuggestion:
    return SubmitSuggestion(
        suggestion_id=suggestion_id,
        jurisdiction=e.township,
        title=title_of(e.description),
        content=e.description,
        deputy_ids=e.deputy_ids,  # the lead deputy first, as the finding lists them
        category=CATEGORY,
        submitted_during="recess",  # an inspection is work of the recess (闭会期间)
        meeting_id=e.meeting_id,
        source="joint_inspection",
        source_id=e.finding_id,
    )


def assignment(e: InspectionFindingRecorded, suggestion_id: str) -> AssignSuggestion:
    return AssignSuggestion(
        suggestion_id=suggestion_id,
        lead_unit_id=e.unit_id or "",
        responsible_leader=RESPONSIBLE_LEADER,
        complexity="normal",
    )


# -- the process manager ---------------------------------------------------------------------------
metadata = MetaData()
outcomes = Table(
    "suggestions_from_findings",
    metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("joint_inspection_id", String(64), nullable=False, index=True),
    Column("township", String(12), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("suggestion_id", String(64), nullable=True),
    # assigned | submitted (unit_unknown) | no_deputies | refused:<domain code>
    Column("outcome", String(60), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


class SuggestionsFromFindings(Projection):
    name: ClassVar[str] = NAME
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = metadata
    handles = (InspectionFindingRecorded,)

    def __init__(self, rt: ServiceRuntime, *, clock: Clock = utcnow) -> None:
        self.rt = rt
        self.clock = clock

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e = env.data
        if not isinstance(e, InspectionFindingRecorded) or not e.unit_id:
            return  # a finding without a unit stays a finding (or becomes a review opinion)
        suggestion_id, outcome = await self.raise_suggestion(e, correlation_id=env.correlation_id)
        await tx.execute(delete(outcomes).where(outcomes.c.finding_id == e.finding_id))
        await tx.execute(
            outcomes.insert().values(
                finding_id=e.finding_id,
                joint_inspection_id=e.joint_inspection_id,
                township=e.township,
                unit_id=e.unit_id,
                suggestion_id=suggestion_id,
                outcome=outcome,
                recorded_at=e.recorded_at,
            )
        )

    async def raise_suggestion(self, e: InspectionFindingRecorded, *, correlation_id: str) -> tuple[str | None, str]:
        """Submit and assign the finding's suggestion; (suggestion id or None, outcome)."""
        ids = ids_for(e.finding_id)
        if not e.deputy_ids:
            log.warning(
                "reaction.finding_without_deputies", finding_id=e.finding_id, joint_inspection_id=e.joint_inspection_id
            )
            return None, "no_deputies"
        now = self.clock()

        def meta(command_id: str) -> CommandMeta:
            return CommandMeta(actor=ACTOR, correlation_id=correlation_id, command_id=command_id, now=now)

        try:
            # The system acts (principal None): no access check, every rule of the domain applies
            # (a terminated deputy, a street in session …); a retry of an applied command decides nothing.
            submitted = await commands.submit_suggestion(
                submission(e, ids.suggestion_id), Context(self.rt, meta(ids.submit_command_id))
            )
            if submitted.envelopes:
                log.info("reaction.suggestion_submitted", finding_id=e.finding_id, suggestion_id=ids.suggestion_id)
            if not await self._unit_on_path(e.unit_id or "", e.township):
                log.warning(
                    "reaction.unit_unknown", finding_id=e.finding_id, suggestion_id=ids.suggestion_id, unit_id=e.unit_id
                )
                return ids.suggestion_id, "submitted"
            assigned = await commands.assign_suggestion(
                assignment(e, ids.suggestion_id), Context(self.rt, meta(ids.assign_command_id), actor_role=ACTOR.role)
            )
            if assigned.envelopes:
                log.info(
                    "reaction.suggestion_assigned",
                    finding_id=e.finding_id,
                    suggestion_id=ids.suggestion_id,
                    unit_id=e.unit_id,
                )
        except DomainError as refused:
            # Final: the same state and command decide the same again. Shown, never retried.
            log.warning(
                "reaction.finding_refused", finding_id=e.finding_id, suggestion_id=ids.suggestion_id, code=refused.code
            )
            loaded = await self.rt.store.load(SUGGESTION, ids.suggestion_id, jurisdiction=e.township)
            return (ids.suggestion_id if loaded.exists else None), f"refused:{refused.code}"
        return ids.suggestion_id, "assigned"

    async def _unit_on_path(self, unit_id: str, township: str) -> bool:
        """The unit may be assigned the township's suggestion (the rule of ``commands/references.py``)."""
        found = await references.units(self.rt, unit_id, ())
        return references.on_path(found.get(unit_id, ""), township)


def reactions(rt: ServiceRuntime) -> list[Projection]:
    """For ``ServiceDefinition(reactions=...)`` of the suggestions service."""
    return [SuggestionsFromFindings(rt)]
