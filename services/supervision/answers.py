"""Precomputed answers: the township table and the overdue board, one row per item, kept in
``supervision_answers`` with the read models' version (their checkpoints) they were counted at.

A background task (``refresh``) counts the live answers of every county off the request path, with
the same code as an uncached request (``queries.compute_*``, figures by ``libs/figures``), once the
read models have settled and caught up. A request reads its answer in one query, matched against the
current version in the same statement, and joins the rows' stored JSON: no figure is counted and
nothing re-encoded per request. A stale row (the read models moved, or the clock passed the moment
the answer could change: end of the local day, the next open deadline) is never served; the request
then counts the answer itself (``queries``), and what it counted is kept as rows (``keep``, off the
request path), so the next one is served from rows again: a city, a township, a past day.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from fastapi.encoders import jsonable_encoder
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, delete, func, or_, select

from libs.db.engine import reading, writing
from libs.domain.times import local_iso
from libs.events.projection import checkpoints
from libs.service.runtime import ServiceRuntime
from libs.web.lists import decode_cursor, encode_cursor
from services.supervision import clock, queries
from services.supervision.records import Moment
from services.supervision.tables import from_text, utc_text
from services.supervision.view import iso_duration

log = structlog.get_logger("supervision.answers")
answer_metadata = MetaData()
answers = Table(
    "supervision_answers",
    answer_metadata,
    Column("answer", String(80), primary_key=True),  # Spec.key
    Column("seq", Integer, primary_key=True),  # 0: the answer's other fields; then its items in order
    Column("part", String(8), nullable=False),  # head | item | county
    Column("key", Text, nullable=False),  # the item's cursor key as JSON
    Column("version", BigInteger, nullable=False),  # queries.read_version when counted
    Column("valid_until", String(40), nullable=True),  # a live answer: until the clock could change it
    Column("due", String(40), nullable=True),  # a board item: its due time (its lateness is told when served)
    Column("body", Text, nullable=False),  # the item's JSON as answered
)
POLL = 0.5  # seconds between looks at the read models' version
KINDS = ("townships", "overdue")
LATE = '"overdue_for":"\\u0000","overdue_days":0'  # a board item's lateness, told when served
_UTC_TEXT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


def localized(value: Any) -> Any:
    """Every time answered carries the zone's offset (contract): read models keep UTC text, answers local."""
    if isinstance(value, dict):
        return {k: localized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [localized(v) for v in value]
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, str) and _UTC_TEXT.match(value):
        return local_iso(datetime.fromisoformat(value))
    return value


def to_json(value: Any) -> str:
    """The JSON FastAPI would write for ``value`` (as ``api.encoded`` does)."""
    return json.dumps(jsonable_encoder(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True)
class Spec:
    """One answer: the township table or the overdue board of a prefix, live or as of a past day."""

    kind: str  # "townships" | "overdue"
    prefix: str
    year: int | None  # townships only
    as_of: date | None  # None: live

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.prefix}|{self.year or ''}|{self.as_of or 'live'}"

    def moment(self, rt: ServiceRuntime) -> Moment:
        return Moment.of(self.as_of, rt.settings.tz)


def spec_of(rt: ServiceRuntime, kind: str, prefix: str, year: int | None, m: Moment) -> Spec | None:
    """The answer a request asks for; None when it is not kept (as of today or later: that is live)."""
    if m.as_of is not None and m.as_of >= clock.now().astimezone(rt.settings.tz).date():
        return None
    return Spec(kind, prefix, year, m.as_of)


def _version() -> Any:
    c = checkpoints.c
    total = func.coalesce(func.sum(c.position), 0) * 8 + func.count()
    return select(total).where(c.projection.in_(queries.PROJECTIONS)).scalar_subquery()


async def fetch(rt: ServiceRuntime, spec: Spec, m: Moment) -> list[Any] | None:
    """The answer's rows when they are current (one statement), else None."""
    if not rt.extras.get("answers_ready"):
        return None
    a = answers.c
    q = (
        select(a.part, a.key, a.body, a.due)
        .where(a.answer == spec.key, a.version == _version(), or_(a.valid_until.is_(None), a.valid_until > m.text))
        .order_by(a.seq)
    )
    async with reading(rt.engine) as conn:
        rows = list(await conn.execute(q))
    return rows or None


def keep(rt: ServiceRuntime, spec: Spec, m: Moment, data: dict[str, Any], cached: Any) -> None:
    """Keep the answer a request missed and counted itself (``cached``: its cache entry), off the
    request path: no count twice. One at a time per answer."""
    pending: set[str] = rt.extras.setdefault("answers_pending", set())
    if cached is None or spec.key in pending or not rt.extras.get("answers_ready") or rt.extras.get("answers_paused"):
        return
    pending.add(spec.key)

    async def store() -> None:
        try:
            until = cached.valid_until
            if spec.kind == "overdue" and not m.past:  # the cache keeps a board only until its lateness moves
                async with rt.engine.connect() as conn:
                    until = await queries.next_change(conn, spec.prefix, m, rt, None)
            await write(rt, spec, data, cached.version, until)
        except Exception:
            log.exception("supervision.answer_not_kept", answer=spec.key)
        finally:
            pending.discard(spec.key)

    task = asyncio.get_running_loop().create_task(store())
    rt.extras.setdefault("answers_tasks", set()).add(task)
    task.add_done_callback(rt.extras["answers_tasks"].discard)


def late(body: str, due: str | None, m: Moment) -> str:
    """A board item's lateness at ``m`` (as ``view._overdue_item`` tells it) in place of its mark."""
    if due is None:
        return body
    d = m.at - from_text(due)
    return body.replace(LATE, f'"overdue_for":"{iso_duration(d)}","overdue_days":{d.days}', 1)


def page(rows: list[Any], part: str, limit: int, cursor: str | None, m: Moment) -> tuple[list[str], str | None]:
    after = decode_cursor(cursor)
    items = [(json.loads(k), body, due) for p, k, body, due in rows if p == part]
    if after is not None:
        items = [x for x in items if x[0] > after]
    more = len(items) > limit
    items = items[:limit]
    return [late(b, due, m) for _, b, due in items], encode_cursor(items[-1][0]) if more and items else None


def assemble(rows: list[Any], head: dict[str, Any], part: str, limit: int, cursor: str | None, m: Moment) -> bytes:
    """``{**head, "items": [...], "next_cursor": ..., <the stored head fields>, <as_of>}`` from the rows."""
    items, next_cursor = page(rows, part, limit, cursor, m)
    stored = rows[0][2][1:-1]  # the head row: a JSON object's members
    out = to_json(head)[:-1] + ',"items":[' + ",".join(items) + "]"
    out += ',"next_cursor":' + to_json(next_cursor) + ("," + stored if stored else "")
    if m.historical:
        out += ',"as_of":' + to_json(m.as_of) + ',"historical":true'
    return (out + "}").encode()


def rows_of(spec: Spec, data: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(part, key, body, due) of a counted answer, the head first."""
    out: list[tuple[str, str, str, str | None]]
    if spec.kind == "townships":
        head = {"total": data["total"], "units_over_limit": data["units_over_limit"]}
        out = [("head", "null", to_json(localized(head)), None)]
        out += [("item", to_json(i["code"]), to_json(localized(i)), None) for i in data["items"]]
        return out + [("county", to_json(i["code"]), to_json(localized(i)), None) for i in data["counties"]]
    out = [("head", "null", "{}", None)]
    for i in data["rows"]:
        key = [local_iso(i["due_at"]), i["suggestion_id"] or i.get("review_opinion_id")]
        body = to_json(localized({**i, "overdue_for": "\0", "overdue_days": 0}))
        assert LATE in body
        out.append(("item", to_json(key), body, utc_text(i["due_at"])))
    return out


async def count(rt: ServiceRuntime, ref: Any, spec: Spec) -> tuple[int, datetime | None]:
    """Count ``spec`` now and keep its rows; the version and the moment it stays valid until."""
    m = spec.moment(rt)
    async with rt.engine.connect() as conn:
        version = await queries.read_version(conn)
        if spec.kind == "townships":
            data = await queries.compute_townships(conn, rt, ref, spec.prefix, spec.year or m.day.year, m)
        else:
            data = {"rows": await queries.compute_overdue(conn, rt, ref, spec.prefix, m)}
        # a board's lateness is told when served: only the townships' whole days keep it from lasting
        shown = data if spec.kind == "townships" else None
        until = None if m.past else await queries.next_change(conn, spec.prefix, m, rt, shown)
    await write(rt, spec, data, version, until)
    return version, until


async def write(rt: ServiceRuntime, spec: Spec, data: dict[str, Any], version: int, until: datetime | None) -> None:
    """Replace ``spec``'s rows (and every row of an older version) with ``data``'s."""
    a = answers.c
    values = [
        {
            "answer": spec.key,
            "seq": n,
            "part": part,
            "key": key,
            "version": version,
            "valid_until": utc_text(until) if until else None,
            "body": body,
            "due": due,
        }
        for n, (part, key, body, due) in enumerate(rows_of(spec, data))
    ]
    async with writing(rt.engine) as tx:
        await tx.execute(delete(answers).where(or_(a.answer == spec.key, a.version < version)))
        await tx.execute(answers.insert(), values)


async def counties(rt: ServiceRuntime, ref: Any) -> list[str]:
    j = ref.jurisdictions.c
    async with reading(rt.engine) as conn:
        return [c for (c,) in await conn.execute(select(j.code).where(j.kind == "county").order_by(j.code))]


async def behind(rt: ServiceRuntime) -> bool:
    """Whether the view's read models have events still to apply (their streams' heads, one look each)."""
    heads: dict[str, int] = {}
    for name in queries.PROJECTIONS:
        runner = rt.runners.get(name)
        if runner is not None and any((await runner.lag(heads)).values()):
            return True
    return False


async def refresh(rt: ServiceRuntime, ref: Any) -> None:
    """Keep the live answers of every county counted and current."""
    async with writing(rt.engine) as tx:  # derived rows only: a new start (or a new shape) counts them afresh
        await tx.run_sync(answer_metadata.drop_all)
        await tx.run_sync(answer_metadata.create_all)
    rt.extras["answers_ready"] = True
    counted: dict[str, tuple[int, datetime | None]] = {}
    seen = -1
    while True:
        await asyncio.sleep(POLL)
        if rt.extras.get("answers_paused"):
            continue
        async with reading(rt.engine) as conn:
            version = await queries.read_version(conn)
        if version != seen:  # the read models are moving: count once they have settled
            seen = version
            continue
        now = clock.now()
        year = now.astimezone(rt.settings.tz).year
        live = [Spec(k, c, year if k == "townships" else None, None) for c in await counties(rt, ref) for k in KINDS]
        todo: dict[str, Spec] = {}
        for spec in live:
            done = counted.get(spec.key)
            if not (done and done[0] == version and (done[1] is None or now < done[1])):
                todo[spec.key] = spec
        if not todo or await behind(rt):  # a catch-up paused for a moment: counting now would only slow it
            continue
        for spec in todo.values():
            try:
                counted[spec.key] = await count(rt, ref, spec)
            except Exception:
                log.exception("supervision.answer_failed", answer=spec.key)
