"""Applying one delivered batch to the projections that read it, each with its checkpoint, in one transaction.

A message a projection cannot decode (not an envelope, an event type this process does not know,
a version without upcaster, data its class refuses) or cannot apply (its SQL fails) halts that
projection at that message; the others go on. The halt is stored in the checkpoint row (stream
sequence and error) and shown by ``/readyz`` and ``/metrics`` until an operator resolves it.

A failure that is not the message's (the database or NATS unavailable, a lock timeout) halts
nothing: the batch is rolled back and the group retries it with back-off.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events.envelope import Envelope, from_body
from libs.events.projection.buffered import BufferedTx
from libs.events.projection.checkpoints import Halt, locked_position, move_statement, record_halt, set_position
from libs.events.projection.consumer import Delivered
from libs.events.projection.runner import ProjectionRunner

log = structlog.get_logger("events.projection")
_SCHEMA_ERRORS = ("no such table", "no such column", "syntax error", "has no column")


def passing(exc: BaseException) -> bool:
    """A failure of the surroundings (retry later), not of the message (halt)."""
    if isinstance(exc, OperationalError):
        return not any(s in str(exc).lower() for s in _SCHEMA_ERRORS)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, InterfaceError | DisconnectionError | PoolTimeout | ConnectionError | TimeoutError)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Decoder:
    """Each message parsed once, each envelope decoded at most once (typed and raw), for all members."""

    def __init__(self, delivered: list[Delivered]) -> None:
        self.delivered = delivered
        self.seqs = [d.seq for d in delivered]
        self._bodies: dict[int, dict[str, Any] | str] = {}
        self._typed: dict[int, Envelope | str] = {}
        self._raw: dict[int, Envelope | str] = {}
        self._positions: tuple[dict[str, list[int]], list[int]] | None = None

    def positions(self) -> tuple[dict[str, list[int]], list[int]]:
        """The batch's message positions by event type (ascending), and those of messages that are no envelope."""
        if self._positions is None:
            by_type: dict[str, list[int]] = {}
            bad: list[int] = []
            for i in range(len(self.delivered)):
                b = self.body(i)
                if isinstance(b, str):
                    bad.append(i)
                else:
                    by_type.setdefault(b["type"], []).append(i)
            self._positions = (by_type, bad)
        return self._positions

    def body(self, i: int) -> dict[str, Any] | str:
        got = self._bodies.get(i)
        if got is None:
            d = self.delivered[i]
            try:
                b = orjson.loads(d.data)
                got = b if isinstance(b, dict) and isinstance(b.get("type"), str) else "not an envelope (no type)"
            except orjson.JSONDecodeError as exc:
                got = f"not an envelope: {exc}"
            self._bodies[i] = got
        return got

    def envelope(self, i: int, raw: bool) -> Envelope | str:
        """Message ``i`` decoded; ``raw``: its envelope only. A raw reader takes the typed envelope
        when one was decoded (its ``data`` is then set, which it ignores): each event once."""
        if raw and isinstance(typed := self._typed.get(i), Envelope):
            return typed
        cache = self._raw if raw else self._typed
        got = cache.get(i)
        if got is None:
            d = self.delivered[i]
            b = self.body(i)
            assert isinstance(b, dict)
            try:
                got = from_body(b, stream_seq=d.seq, subject=d.subject, decode_data=not raw)
            except Exception as exc:  # the message's fault, whatever the decoder raised
                got = f"cannot decode {b.get('type')} v{b.get('version')}: {_describe(exc)}"
            cache[i] = got
        return got


def _plan(
    stream: str, delivered: list[Delivered], members: list[ProjectionRunner], decoder: Decoder | None = None
) -> dict[ProjectionRunner, tuple[list[Envelope], Halt | None]]:
    """Per member: its events of the batch past its checkpoint, and the halt that ends them, if any.

    The batch is indexed by event type once (``Decoder.positions``): a member that reads a few
    types of a long stream visits only those messages, not every message of the batch.
    """
    decoder = decoder if decoder is not None else Decoder(delivered)
    by_type, bad = decoder.positions()
    seqs = decoder.seqs
    plan: dict[ProjectionRunner, tuple[list[Envelope], Halt | None]] = {}
    for r in sorted(members, key=lambda r: r.projection.raw):  # typed readers first: raw ones reuse theirs
        if stream in r.halted:
            continue
        first = bisect.bisect_right(seqs, r.positions.get(stream, 0))  # past its checkpoint
        wanted = r.wanted_types()
        if wanted is None:
            mine_at: Iterable[int] = range(first, len(delivered))
        else:
            runs = [by_type[t] for t in wanted if t in by_type]
            mine_at = sorted(i for run in runs for i in run[bisect.bisect_left(run, first) :]) if runs else ()
        stop = next((i for i in bad if i >= first), len(delivered))  # a message that is no envelope
        raw = r.projection.raw
        mine: list[Envelope] = []
        halt = None
        for i in mine_at:
            if i >= stop:
                break
            env = decoder.envelope(i, raw)
            if isinstance(env, str):
                d = delivered[i]
                halt = Halt(stream, d.seq, f"{d.subject}: {env}", datetime.now(UTC))
                break
            mine.append(env)
        if halt is None and stop < len(delivered):
            d, body = delivered[stop], decoder.body(stop)
            halt = Halt(stream, d.seq, f"{d.subject}: {body}", datetime.now(UTC))
        plan[r] = (mine, halt)
    return plan


async def _write(
    engine: AsyncEngine,
    stream: str,
    position: int,
    plan: dict[ProjectionRunner, tuple[list[Envelope], Halt | None]],
) -> None:
    """One transaction: every member's events and its checkpoint (up to ``position``, or to its halt)."""
    # Members in one fixed order (their names), so two instances on one database take row locks alike.
    writes = {r: plan[r] for r in sorted(plan, key=lambda r: r.projection.name) if plan[r][0] or plan[r][1] is not None}
    if not writes:
        return
    async with writing(engine) as tx:
        # One statement moves the checkpoint of every member that holds nothing of this batch
        # yet (the usual case), writing first: it takes the row locks on PostgreSQL and the
        # write lock on SQLite up front. A member it did not move was advanced meanwhile by
        # another instance on the same database: read its checkpoint under lock and skip what
        # that instance applied.
        flowing = [r for r, (mine, halt) in writes.items() if halt is None and mine]
        moved: set[str] = set()
        if flowing:
            params: dict[str, Any] = {"s": stream, "to": position, "at": datetime.now(UTC)}
            for k, r in enumerate(flowing):
                params[f"p{k}"], params[f"f{k}"] = r.projection.name, writes[r][0][0].stream_seq
            moved = set((await tx.execute(move_statement(len(flowing)), params)).scalars())
        for r, (mine, halt) in writes.items():
            name = r.projection.name
            if halt is not None or name not in moved:
                stored = await locked_position(tx, name, stream)
                mine = [e for e in mine if e.stream_seq > stored]
                await set_position(tx, name, stream, halt.seq - 1 if halt is not None else position)
            if mine:
                buffered = BufferedTx(tx)  # runs of plain INSERTs as one executemany (buffered.py)
                await r.projection.apply_many(mine, buffered)  # type: ignore[arg-type]
                await buffered.flush()
            if halt is not None:
                await record_halt(tx, name, halt)


async def _isolate(
    engine: AsyncEngine,
    stream: str,
    position: int,
    plan: dict[ProjectionRunner, tuple[list[Envelope], Halt | None]],
) -> dict[ProjectionRunner, tuple[list[Envelope], Halt | None]]:
    """The batch failed as a whole: find the member and the message, one transaction each (a rare path)."""
    out: dict[ProjectionRunner, tuple[list[Envelope], Halt | None]] = {}
    for r, (mine, halt) in plan.items():
        try:
            await _write(engine, stream, position, {r: (mine, halt)})
            out[r] = (mine, halt)
            continue
        except Exception as exc:
            if passing(exc):
                raise
        for env in mine:
            try:
                await _write(engine, stream, env.stream_seq, {r: ([env], None)})
            except Exception as exc:
                if passing(exc):
                    raise
                halt = Halt(
                    stream,
                    env.stream_seq,
                    f"{env.subject}: cannot apply {env.type}: {_describe(exc)}",
                    datetime.now(UTC),
                )
                break
        if halt is not None:
            await _write(engine, stream, position, {r: ([], halt)})
        out[r] = (mine, halt)
    return out


async def apply_batch(
    engine: AsyncEngine,
    stream: str,
    delivered: list[Delivered],
    members: list[ProjectionRunner],
    decoder: Decoder | None = None,
) -> None:
    """Apply one delivered batch to every member that reads it, in one transaction with their checkpoints.

    Each message is parsed once for all members (and, given ``decoder``, for the members of other
    databases applying the same batch: a rebuild of several services' read models). Only members
    with events of their own in the batch write (their checkpoint row first); the others advance
    in memory. A halted member takes nothing until the operator resolves its halt.
    """
    started = time.perf_counter()
    last = delivered[-1]
    position = last.seq
    head = last.seq + last.pending
    plan = _plan(stream, delivered, members, decoder)
    try:
        await _write(engine, stream, position, plan)
    except Exception as exc:
        if passing(exc):
            raise
        log.warning("projection.batch_refused", stream=stream, error=_describe(exc), note="finding the message")
        plan = await _isolate(engine, stream, position, plan)
    for r in members:
        if r not in plan:
            continue  # halted before this batch
        mine, halt = plan[r]
        if halt is not None:
            await r._halt(halt, head=head)
        else:
            await r._advance(stream, position, saved=bool(mine), head=head, delivered=len(delivered))
    log.debug(
        "projection.batch",
        projections=[r.projection.name for r, p in plan.items() if p[0]],
        stream=stream,
        n=len(delivered),
        applied=sum(len(p[0]) for p in plan.values()),
        ms=round((time.perf_counter() - started) * 1e3, 2),
    )
