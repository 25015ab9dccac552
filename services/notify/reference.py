"""Facts of the other contexts that notify keeps: who a unit, deputy or user is and how to reach them.

Read tolerantly: contact fields (``email``, ``phone``) are optional in the events and may be
added to a type by a later version, so they are taken from the raw data when present.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from services.notify.tables import (
    deputies,
    dialect_of,
    meetings,
    places,
    review_opinions,
    suggestions,
    units,
    update_statement,
    upsert_statement,
    users,
)

USER_EVENTS = ("UserCreated", "RoleGranted", "UserDisabled", "UserContactChanged", "UserContactsChanged", "UserUpdated")
UNIT_EVENTS = (
    "OrganizerUnitRegistered",
    "OrganizerUnitChanged",
    "OrganizerUnitUpdated",
    "OrganizerUnitContactsChanged",
)
HANDLES = (
    "JurisdictionRegistered",
    "DeputyRegistered",
    "DeputyContactChanged",
    *USER_EVENTS,
    *UNIT_EVENTS,
    "SuggestionSubmitted",
    "CoSubmittersAdded",
    "SatisfactionEvaluated",
    "MeetingScheduled",
    "MeetingChanged",
    "ReviewOpinionSent",
)


def _contact(env: Envelope, name: str) -> str | None:
    value = env.raw_data.get(name) if env.raw_data else None
    if value is None:
        value = getattr(env.data, name, None)
    return str(value).strip() or None if value else None


def _contacts(env: Envelope) -> dict[str, Any]:
    out = {}
    for name in ("email", "phone"):
        if (v := _contact(env, name)) is not None:
            out[name] = v
    return out


async def remember(env: Envelope, tx: AsyncConnection) -> None:
    """Update the reference tables with one event (before any notice of it is planned)."""
    d: Any = env.data
    t = env.type
    if t == "JurisdictionRegistered":
        await _upsert(tx, places, "code", {"code": d.code, "name": d.name})
    elif t == "DeputyRegistered":
        values = {"deputy_id": d.deputy_id, "name": d.name, "township": d.township, "phone": _contact(env, "phone")}
        await _upsert(tx, deputies, "deputy_id", values)
    elif t == "DeputyContactChanged":
        if c := _contacts(env):
            await _update(tx, deputies, "deputy_id", d.deputy_id, c)
    elif t in USER_EVENTS:
        await _user(env, tx)
    elif t in UNIT_EVENTS:
        values = _contacts(env)
        for name in ("jurisdiction", "name"):
            if getattr(d, name, None):
                values[name] = getattr(d, name)
        if t == "OrganizerUnitRegistered":
            await _upsert(tx, units, "unit_id", {"unit_id": d.unit_id, **values})
        else:
            await _update(tx, units, "unit_id", d.unit_id, values)
    elif t == "SuggestionSubmitted":
        values = {
            "suggestion_id": d.suggestion_id,
            "title": d.title,
            "jurisdiction": d.jurisdiction,
            "deputy_ids": list(d.deputy_ids),
        }
        await _upsert(tx, suggestions, "suggestion_id", values)
    elif t == "SuggestionAssigned":
        values = {"lead_unit_id": d.lead_unit_id, "co_unit_ids": list(d.co_unit_ids)}
        await _update(tx, suggestions, "suggestion_id", d.suggestion_id, values)
    elif t == "SatisfactionEvaluated":
        await _update(tx, suggestions, "suggestion_id", d.suggestion_id, {"last_comment": d.comment})
    elif t == "CoSubmittersAdded":
        row = await suggestion(tx, d.suggestion_id)
        if row is not None:
            ids = list(row["deputy_ids"]) + [i for i in d.deputy_ids if i not in row["deputy_ids"]]
            await _update(tx, suggestions, "suggestion_id", d.suggestion_id, {"deputy_ids": ids})
            forget(tx, env)  # read above, changed since
    elif t in ("MeetingScheduled", "MeetingChanged"):
        values = {"title": d.title, "starts_at": d.starts_at, "venue": d.venue, "invitee_ids": list(d.invitee_ids)}
        if t == "MeetingScheduled":
            await _upsert(tx, meetings, "meeting_id", {"meeting_id": d.meeting_id, **values, "body": d.body})
        else:
            await _update(tx, meetings, "meeting_id", d.meeting_id, values)
    elif t == "ReviewOpinionSent":
        values = {
            "review_opinion_id": d.review_opinion_id,
            "meeting_id": d.meeting_id,
            "body": d.body,
            "to_unit_id": d.to_unit_id,
        }
        await _upsert(tx, review_opinions, "review_opinion_id", values)


async def _user(env: Envelope, tx: AsyncConnection) -> None:
    d: Any = env.data
    values: dict[str, Any] = {"username": d.username, **_contacts(env)}
    if env.type == "RoleGranted":
        values.update(role=d.role, jurisdiction=d.jurisdiction, deputy_id=d.deputy_id, unit_id=d.unit_id)
    if env.type == "UserDisabled":
        values["disabled"] = True
    elif env.type == "UserCreated":
        values["disabled"] = False
    await _upsert(tx, users, "username", values)


# -- writes, queued per transaction while a batch is planned (``memoise``): a run of writes of one
# statement goes as one executemany (on PostgreSQL a round trip each was most of the consumer's
# time in a replay); every read on a memo miss, and the end of the batch, sends the queue first.
_queued: dict[int, list[tuple[Any, list[dict[str, Any]]]]] = {}


async def _upsert(tx: AsyncConnection, table: Any, key: str, values: dict[str, Any]) -> None:
    await _write(tx, upsert_statement(table, dialect_of(tx), (key,), tuple(values)), values)


async def _update(tx: AsyncConnection, table: Any, key: str, key_value: str, values: dict[str, Any]) -> None:
    if not values:
        return
    params = {"key_": key_value, **{f"v_{c}": v for c, v in values.items()}}
    await _write(tx, update_statement(table, key, tuple(values)), params)


async def _write(tx: AsyncConnection, stmt: Any, params: dict[str, Any]) -> None:
    queue = _queued.get(id(tx))
    if queue is None:  # not within a planned batch: at once
        await tx.execute(stmt, params)
    elif queue and queue[-1][0] is stmt:
        queue[-1][1].append(params)
    else:
        queue.append((stmt, [params]))


async def flush(tx: AsyncConnection) -> None:
    """Send the queued writes, in order."""
    queue = _queued.get(id(tx))
    while queue:
        stmt, rows = queue.pop(0)
        await tx.execute(stmt, rows if len(rows) > 1 else rows[0])


# -- reads, memoised per transaction (a batch reads the same units, staff and deputies again and
# again; a statement is built only on a miss); an event that changes a row drops it from the memo
# first (``forget``).
_memo: dict[int, dict[tuple[str, str], Any]] = {}
_TABLE_OF = {
    "DeputyRegistered": "deputy",
    "DeputyContactChanged": "deputy",
    **dict.fromkeys(USER_EVENTS, "users"),
    **dict.fromkeys(UNIT_EVENTS, "unit"),
    "SuggestionSubmitted": "suggestion",
    "SuggestionAssigned": "suggestion",
    "CoSubmittersAdded": "suggestion",
    "SatisfactionEvaluated": "suggestion",
    "MeetingScheduled": "meeting",
    "MeetingChanged": "meeting",
    "ReviewOpinionSent": "review",
    "JurisdictionRegistered": "place",
}


def memoise(tx: AsyncConnection) -> None:
    _memo[id(tx)] = {}
    _queued[id(tx)] = []


def release(tx: AsyncConnection) -> None:
    """Forget the batch's memo and any write not sent (after an error: the transaction rolls back)."""
    _memo.pop(id(tx), None)
    _queued.pop(id(tx), None)


_KEY_OF = {  # the field naming the one memoised row an event changes (the users' memo is by addressee)
    "deputy": "deputy_id",
    "unit": "unit_id",
    "suggestion": "suggestion_id",
    "meeting": "meeting_id",
    "review": "review_opinion_id",
    "place": "code",
}


def forget(tx: AsyncConnection, env: Envelope) -> None:
    """Drop what an event is about to change from the memo: its row, or the whole users' memo."""
    memo = _memo.get(id(tx))
    table = _TABLE_OF.get(env.type)
    if not memo or not table:
        return
    key = getattr(env.data, _KEY_OF.get(table, ""), None)
    if isinstance(key, str):
        memo.pop((table, key), None)
        return
    for k in [k for k in memo if k[0] == table]:
        del memo[k]


async def _cached(tx: AsyncConnection, table: str, key: str, read: Any) -> Any:
    memo = _memo.get(id(tx))
    if memo is not None and (table, key) in memo:
        return memo[(table, key)]
    await flush(tx)
    value = await read()
    if memo is not None:
        memo[(table, key)] = value
    return value


async def _one(tx: AsyncConnection, stmt: Any) -> dict[str, Any] | None:
    row = (await tx.execute(stmt)).mappings().first()
    return dict(row) if row is not None else None


async def _row(tx: AsyncConnection, name: str, table: Any, column: str, key: str) -> dict[str, Any] | None:
    return await _cached(  # type: ignore[no-any-return]
        tx, name, key, lambda: _one(tx, select(table).where(table.c[column] == key))
    )


async def suggestion(tx: AsyncConnection, suggestion_id: str) -> dict[str, Any] | None:
    return await _row(tx, "suggestion", suggestions, "suggestion_id", suggestion_id)


async def unit(tx: AsyncConnection, unit_id: str) -> dict[str, Any] | None:
    return await _row(tx, "unit", units, "unit_id", unit_id)


async def deputy(tx: AsyncConnection, deputy_id: str) -> dict[str, Any] | None:
    return await _row(tx, "deputy", deputies, "deputy_id", deputy_id)


async def meeting(tx: AsyncConnection, meeting_id: str) -> dict[str, Any] | None:
    return await _row(tx, "meeting", meetings, "meeting_id", meeting_id)


async def review_opinion(tx: AsyncConnection, rid: str) -> dict[str, Any] | None:
    return await _row(tx, "review", review_opinions, "review_opinion_id", rid)


async def place_name(tx: AsyncConnection, code: str) -> str:
    row = await _cached(tx, "place", code, lambda: _one(tx, select(places.c.name).where(places.c.code == code)))
    return str(row["name"]) if row else code


async def users_of(tx: AsyncConnection, addressee: str) -> list[dict[str, Any]]:
    """The users an addressee's notifications also reach (by their own e-mail and phone)."""
    return await _cached(tx, "users", addressee, lambda: _users_of(tx, addressee))  # type: ignore[no-any-return]


async def _users_of(tx: AsyncConnection, addressee: str) -> list[dict[str, Any]]:
    kind, _, key = addressee.partition(":")
    q = select(users).where(users.c.disabled.is_(False))
    if kind == "unit":
        q = q.where(users.c.role == "organizer", users.c.unit_id == key)
    elif kind == "deputy":
        q = q.where(users.c.role == "deputy", users.c.deputy_id == key)
    else:
        q = q.where(users.c.role.in_(("township_staff", "county_staff")), users.c.jurisdiction == key)
    return [dict(r) for r in (await tx.execute(q.order_by(users.c.username))).mappings()]
