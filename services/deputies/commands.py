"""Commands of the deputies context and their handlers: load, check access, decide, append."""

from __future__ import annotations

from dataclasses import dataclass

from libs.auth.actor import Principal
from libs.domain.errors import InvalidInput
from libs.events.store import Appended, CommandMeta, EventStore, Loaded
from libs.web.errors import Forbidden
from services.deputies.domain import jurisdiction
from services.deputies.domain.events import Kind
from services.deputies.domain.jurisdiction import JURISDICTION, Jurisdiction


@dataclass(frozen=True)
class RegisterJurisdiction:
    code: str
    name: str
    kind: Kind
    parent: str | None = None


async def register_jurisdiction(
    c: RegisterJurisdiction, store: EventStore, principal: Principal | None, meta: CommandMeta
) -> Appended[Jurisdiction]:
    """``principal`` None is the operator (CLI), who may register any part of the tree."""
    if principal is not None and (not c.code.startswith(principal.jurisdiction) or c.code == principal.jurisdiction):
        raise Forbidden("只能登记本辖区之下的区划。")
    jurisdiction.check_code(c.code, c.kind)
    parent: Jurisdiction | None = None
    if c.parent:
        if not c.parent.isdigit() or len(c.parent) not in (4, 6):
            raise InvalidInput("parent", f"上级区划代码应为 4 位（市）或 6 位（县、区）数字，收到「{c.parent}」。")
        parent = (await store.load(JURISDICTION, c.parent, jurisdiction=c.parent)).state

    def decide(stream: Loaded[Jurisdiction]) -> list:  # type: ignore[type-arg]
        return jurisdiction.decide_register(stream.state, name=c.name, kind=c.kind, parent=parent)

    return await store.execute(JURISDICTION, c.code, decide, meta, jurisdiction=c.code)
