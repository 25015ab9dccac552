"""``/api/notify``: the caller's inbox, its unread count, channel preferences, the staff's outbox view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.actor import ROLES, STAFF, Principal
from libs.db.engine import writing
from libs.domain.errors import NotFound
from libs.domain.times import local_iso
from libs.web.deps import RuntimeDep, allow
from libs.web.lists import CursorParam, LimitParam, Page, decode_cursor, page
from services.notify.tables import create_ledger, dialect_of, inbox, outbox, preferences, upsert_statement

router = APIRouter(prefix="/api/notify", tags=["通知"])
Anyone = Annotated[Principal, Depends(allow(*ROLES))]
Staff = Annotated[Principal, Depends(allow(*STAFF))]
Channel = Literal["email", "sms", "bot"]
_ready: set[int] = set()


async def _engine(rt: Any) -> AsyncEngine:
    engine: AsyncEngine = rt.engine
    if id(engine) not in _ready:
        async with writing(engine) as tx:
            await create_ledger(tx)
        _ready.add(id(engine))
    return engine


def addressee(p: Principal) -> str:
    """Whose inbox a token opens: its unit, its deputy, or the staff of exactly its code."""
    if p.role == "organizer":
        return f"unit:{p.unit_id}"
    if p.role == "deputy":
        return f"deputy:{p.deputy_id}"
    return f"staff:{p.jurisdiction}"


def owners(p: Principal) -> list[str]:
    """Whose channel preferences a caller sets: its own login, and its unit's or deputy's contacts."""
    out = [f"user:{p.subject}"]
    if p.role == "organizer" and p.unit_id:
        out.append(f"unit:{p.unit_id}")
    if p.role == "deputy" and p.deputy_id:
        out.append(f"deputy:{p.deputy_id}")
    return out


def _utc(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


class InboxItem(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    link: str
    source_event_id: str
    created_at: str
    read_at: str | None

    @classmethod
    def of(cls, r: Any) -> InboxItem:
        return cls(
            id=r["id"],
            kind=r["kind"],
            title=r["title"],
            body=r["body"],
            link=r["link"],
            source_event_id=r["source_event_id"],
            created_at=local_iso(_utc(r["created_at"])) or "",
            read_at=local_iso(_utc(r["read_at"])),
        )


@router.get("/inbox", summary="我的通知")
async def get_inbox(
    p: Anyone,
    rt: RuntimeDep,
    unread: Annotated[bool, Query(description="只看未读")] = False,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[InboxItem]:
    engine = await _engine(rt)
    q = select(inbox).where(inbox.c.addressee == addressee(p))
    if unread:
        q = q.where(inbox.c.read_at.is_(None))
    after = decode_cursor(cursor)
    if after:
        at = datetime.fromisoformat(str(after[0]))
        q = q.where(or_(inbox.c.created_at < at, and_(inbox.c.created_at == at, inbox.c.id < str(after[1]))))
    q = q.order_by(inbox.c.created_at.desc(), inbox.c.id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(q)).mappings())
    result = page(rows, limit, lambda r: [_utc(r["created_at"]).astimezone(UTC).isoformat(), r["id"]])  # type: ignore[union-attr]
    return Page(items=[InboxItem.of(r) for r in result.items], next_cursor=result.next_cursor)


@router.post("/inbox/{item_id}/read", summary="标记为已读")
async def post_read(item_id: str, p: Anyone, rt: RuntimeDep) -> InboxItem:
    engine = await _engine(rt)
    where = and_(inbox.c.id == item_id, inbox.c.addressee == addressee(p))
    async with writing(engine) as tx:
        await tx.execute(update(inbox).where(where, inbox.c.read_at.is_(None)).values(read_at=datetime.now(UTC)))
        row = (await tx.execute(select(inbox).where(where))).mappings().first()
    if row is None:
        raise NotFound()
    return InboxItem.of(row)


class UnreadCount(BaseModel):
    unread: int


@router.get("/unread-count", summary="未读通知数（页头铃铛）")
async def get_unread_count(p: Anyone, rt: RuntimeDep) -> UnreadCount:
    engine = await _engine(rt)
    q = select(func.count()).where(inbox.c.addressee == addressee(p), inbox.c.read_at.is_(None))
    async with engine.connect() as conn:
        return UnreadCount(unread=int((await conn.execute(q)).scalar_one()))


class Preferences(BaseModel):
    muted: list[Channel] = Field(default_factory=list, description="不接收的渠道：email、sms、bot（站内通知始终保留）")


@router.get("/preferences", summary="我的通知渠道设置")
async def get_preferences(p: Anyone, rt: RuntimeDep) -> Preferences:
    engine = await _engine(rt)
    async with engine.connect() as conn:
        row = (await conn.execute(select(preferences).where(preferences.c.owner == owners(p)[0]))).mappings().first()
    return Preferences(muted=list(row["muted"]) if row else [])


@router.put("/preferences", summary="设置通知渠道（屏蔽某一渠道）")
async def put_preferences(body: Preferences, p: Anyone, rt: RuntimeDep) -> Preferences:
    engine = await _engine(rt)
    muted = sorted(set(body.muted))
    async with writing(engine) as tx:
        for owner in owners(p):
            values = {"owner": owner, "muted": muted, "updated_at": datetime.now(UTC)}
            await tx.execute(upsert_statement(preferences, dialect_of(tx), ("owner",), tuple(values)), values)
    return Preferences(muted=muted)


class Delivery(BaseModel):
    id: str  # the notification id (the webhook's ``notification_id``)
    source_event_id: str
    kind: str
    channel: str
    recipient: str
    to: str  # masked: personal data
    jurisdiction: str
    state: str
    attempts: int
    last_error: str | None
    created_at: str
    next_attempt_at: str | None
    done_at: str | None


def mask(address: str, channel: str) -> str:
    if channel == "email" and "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
    if channel == "sms":
        return f"{address[:3]}****{address[-4:]}" if len(address) >= 8 else "****"
    return address  # a bot's label, never its URL


@router.get("/outbox", summary="通知投递记录（工作人员）")
async def get_outbox(
    p: Staff,
    rt: RuntimeDep,
    under: Annotated[str | None, Query(description="区划代码，默认本辖区")] = None,
    state: Annotated[Literal["pending", "sent", "failed"] | None, Query()] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[Delivery]:
    code = under or p.jurisdiction
    if not p.sees(code):  # another place's deliveries: an empty list, as every list answers a foreign filter
        return Page(items=[], next_cursor=None)
    engine = await _engine(rt)
    q = select(outbox).where(outbox.c.jurisdiction.startswith(code, autoescape=True))
    if state:
        q = q.where(outbox.c.state == state)
    after = decode_cursor(cursor)
    if after:
        at = datetime.fromisoformat(str(after[0]))
        q = q.where(or_(outbox.c.created_at < at, and_(outbox.c.created_at == at, outbox.c.id < str(after[1]))))
    q = q.order_by(outbox.c.created_at.desc(), outbox.c.id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(q)).mappings())
    result = page(rows, limit, lambda r: [_utc(r["created_at"]).astimezone(UTC).isoformat(), r["id"]])  # type: ignore[union-attr]
    return Page(
        items=[
            Delivery(
                id=r["id"],
                source_event_id=r["source_event_id"],
                kind=r["kind"],
                channel=r["channel"],
                recipient=r["recipient"],
                to=mask(r["address"], r["channel"]),
                jurisdiction=r["jurisdiction"],
                state=r["state"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                created_at=local_iso(_utc(r["created_at"])) or "",
                next_attempt_at=local_iso(_utc(r["next_attempt_at"])) if r["state"] == "pending" else None,
                done_at=local_iso(_utc(r["done_at"])),
            )
            for r in result.items
        ],
        next_cursor=result.next_cursor,
    )
