"""Registering the jurisdiction tree: by city or county staff below their own code, or the operator."""

from __future__ import annotations

from dataclasses import dataclass

from libs.domain.errors import InvalidInput
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.errors import Forbidden
from services.deputies.commands.context import Context, load_place, run, sees
from services.deputies.domain import jurisdiction
from services.deputies.domain.jurisdiction import JURISDICTION, Jurisdiction
from services.deputies.events import Kind


@dataclass(frozen=True)
class RegisterJurisdiction:
    code: str
    name: str
    kind: Kind
    parent: str | None = None


async def register_jurisdiction(c: RegisterJurisdiction, ctx: Context) -> Appended[Jurisdiction]:
    """A caller registers only below its own code; the parent must be registered and its own."""
    principal = ctx.principal
    if principal is not None and (not c.code.startswith(principal.jurisdiction) or c.code == principal.jurisdiction):
        raise Forbidden("只能登记本辖区之下的区划。")
    jurisdiction.check_code(c.code, c.kind)
    parent: Jurisdiction | None = None
    if c.parent:
        if not c.parent.isdigit() or len(c.parent) not in (4, 6):
            raise InvalidInput("parent", f"上级区划代码应为 4 位（市）或 6 位（县、区）数字，收到「{c.parent}」。")
        parent = await load_place(ctx.store, c.parent)
        if parent is None or not sees(principal, parent.code):
            # unknown and foreign alike: nothing says a foreign code exists
            raise InvalidInput("parent", f"上级区划 {c.parent} 尚未登记或不在本辖区，请先登记上级区划。")

    def decide(stream: Loaded[Jurisdiction]) -> list[Event]:
        return jurisdiction.decide_register(stream.state, name=c.name, kind=c.kind, parent=parent)

    return await run(ctx, JURISDICTION, c.code, decide, jurisdiction=c.code)
