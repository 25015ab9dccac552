"""Many aggregates' commands appended together: one atomic batch (one fsync) for hundreds of them.

A time-driven wave (thousands of deadlines due at once, each its own aggregate) would otherwise
cost one acknowledged publish, so one fsync under ``sync_interval: always``, per aggregate.
``append_many`` seals every command's events exactly as ``EventStore.append`` does (event ids
from the command id, the ``prev_hash`` chain from the aggregate as loaded, the writer's key id on
every event and its signature on each command's last one: ``test_batch_append`` compares them
byte for byte) and sends them as JetStream atomic batches (ADR-50: all or nothing, several
subjects of one stream, up to 1,000 messages): ``Nats-Msg-Id`` on every message and each
aggregate's ``Nats-Expected-Last-Subject-Sequence`` guard (its last stream sequence as loaded)
on its first message, so the optimistic-concurrency check stays per aggregate.

A batch is refused whole when one guard fails (another instance or command got there first) or
when it repeats a stored event (a retry): then nothing of it is stored and its commands come back
as ``None``, for the caller to decide again one by one (``EventStore.execute`` tells a retry from
a lost race). A batch never straddles a command; every batch of one call is in flight at once.

``load_many`` loads the aggregates such a wave decides on with single Direct Gets, all in flight
(see its docstring); whatever it is unsure of goes through ``EventStore.load``. The state it
folds is the aggregate's as of its last event read, whose stream sequence is the append's guard:
an event stored since makes the batch refused, never decided on unseen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from nats.aio.msg import Msg

from libs.events import jetstream as jsapi
from libs.events.aggregate import AggregateType
from libs.events.cache import _stream, _subject
from libs.events.envelope import Envelope, decode, encode, stored_at
from libs.events.errors import EventStoreError
from libs.events.event import Event
from libs.events.records import RECENT, Appended, CommandMeta, Loaded, S
from libs.events.store import EventStore, seal_events

log = structlog.get_logger("events.batch")
MAX_MESSAGES = 900  # below the server's 1,000 per atomic batch
ACK_TIMEOUT = 30.0
LOAD_TIMEOUT = 10.0


@dataclass(frozen=True)
class Command:
    """One aggregate's decided events, to append on the state it was decided on."""

    loaded: Loaded[Any]
    events: list[Event]
    meta: CommandMeta
    jurisdiction: str | None = None


@dataclass
class _Sealed:
    command: Command
    stream: str
    subject: str
    where: str
    envelopes: list[Envelope]


def seal_command(store: EventStore, c: Command) -> _Sealed:
    """The envelopes ``EventStore.append`` would store for this command, not yet stored."""
    loaded, meta = c.loaded, c.meta
    agg = loaded.type
    where = loaded.jurisdiction or c.jurisdiction
    if where is None:
        raise ValueError(f"{agg.name} {loaded.id}: jurisdiction unknown for a new aggregate")
    subject = _subject(agg.context, where, agg.name, loaded.id)
    envelopes = seal_events(loaded, c.events, meta, where, subject, store.signer)
    return _Sealed(c, _stream(agg.context), subject, where, envelopes)


def _settle(store: EventStore, s: _Sealed, last_seq: int) -> Appended[Any]:
    """What ``EventStore.append`` does after its acknowledgement: the new state kept, the envelopes placed."""
    loaded, command_id = s.command.loaded, s.command.meta.command_id
    agg = loaded.type
    store._remember(agg, loaded.id, s.where)
    state = loaded.state
    for event in s.command.events:
        state = agg.evolve(state, event)
    recent = loaded.recent
    if not recent or recent[-1] != command_id:
        recent = (*recent, command_id)[-RECENT:]
    last = s.envelopes[-1]
    new: Loaded[Any] = Loaded(
        type=agg,
        id=loaded.id,
        state=state,
        version=last.sequence,
        last_stream_seq=last_seq,
        last_hash=last.hash,
        jurisdiction=s.where,
        causations=loaded.causations | {command_id},
        recent=recent,
        snapshot_version=loaded.snapshot_version,
    )
    new = store._snapshot_if_due(new)
    store._keep(s.subject, new)
    first = last_seq - len(s.envelopes) + 1
    for k, env in enumerate(s.envelopes):
        stored_at(env, first + k)
    return Appended(new, tuple(s.envelopes), s.stream, last_seq)


def _batches(sealed: list[_Sealed], max_messages: int) -> list[list[_Sealed]]:
    """Commands of one stream each, in order, up to ``max_messages`` events a batch."""
    by_stream: dict[str, list[list[_Sealed]]] = {}
    size: dict[str, int] = {}  # messages in each stream's last group
    for s in sealed:
        groups = by_stream.setdefault(s.stream, [[]])
        n = len(s.envelopes)
        if groups[-1] and size[s.stream] + n > max_messages:
            groups.append([])
            size[s.stream] = 0
        groups[-1].append(s)
        size[s.stream] = size.get(s.stream, 0) + n
    return [g for groups in by_stream.values() for g in groups if g]


async def append_many(
    store: EventStore, commands: list[Command], *, max_messages: int = MAX_MESSAGES, timeout: float = ACK_TIMEOUT
) -> list[Appended[Any] | None]:
    """Append each command on its aggregate as loaded, many aggregates per atomic batch.

    Per command, in order: its ``Appended`` (no envelopes if it decided nothing), or ``None``
    when its batch was refused or not acknowledged in time: nothing of that batch is stored, or
    (a lost acknowledgement) all of it, which a new load shows; decide it again on a fresh load.
    One aggregate appears at most once per call.
    """
    out: list[Appended[Any] | None] = [None] * len(commands)
    sealed: list[_Sealed] = []
    index: dict[int, int] = {}  # id(sealed) -> position in commands
    subjects: set[str] = set()
    for i, c in enumerate(commands):
        if not c.events:
            out[i] = Appended(c.loaded, (), _stream(c.loaded.type.context), c.loaded.last_stream_seq)
            continue
        s = seal_command(store, c)
        if s.subject in subjects:
            raise ValueError(f"{s.subject}: one aggregate twice in one append_many")
        subjects.add(s.subject)
        index[id(s)] = i
        sealed.append(s)
    if not sealed:
        return out
    nc = store.nc
    loop = asyncio.get_running_loop()
    inbox = nc.new_inbox()
    replies: dict[str, asyncio.Future[bytes]] = {}

    async def on_reply(m: Msg) -> None:
        waiting = replies.get(m.subject)
        if waiting is not None and not waiting.done():
            waiting.set_result(m.data)

    sub = await nc.subscribe(inbox + ".*", cb=on_reply)
    try:
        batches = _batches(sealed, max_messages)
        for n, group in enumerate(batches):
            reply = f"{inbox}.{n}"
            replies[reply] = loop.create_future()
            await _send(nc, group, reply)
        for n, group in enumerate(batches):
            try:
                data = await asyncio.wait_for(replies[f"{inbox}.{n}"], timeout)
                ack = jsapi._parse_ack(data)
            except jsapi.PublishRefused as refused:
                log.info(
                    "events.batch.refused",
                    stream=group[0].stream,
                    commands=len(group),
                    err_code=refused.err_code,
                    description=refused.description,
                )
                continue
            except TimeoutError:
                log.warning("events.batch.no_ack", stream=group[0].stream, commands=len(group), timeout=timeout)
                continue
            last = ack.seq - sum(len(s.envelopes) for s in group)
            for s in group:
                last += len(s.envelopes)
                out[index[id(s)]] = _settle(store, s, last)
    finally:
        await sub.unsubscribe()
    return out


async def _send(nc: Any, group: list[_Sealed], reply: str) -> None:
    """One atomic batch: every message with its id, each aggregate's guard on its first, commit on the last."""
    total = sum(len(s.envelopes) for s in group)
    batch_id = group[0].envelopes[0].id
    k = 0
    for s in group:
        guard = str(s.command.loaded.last_stream_seq)
        for j, env in enumerate(s.envelopes):
            k += 1
            headers = {"Nats-Msg-Id": env.id, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(k)}
            if j == 0:
                headers["Nats-Expected-Last-Subject-Sequence"] = guard
            if k == total:
                headers["Nats-Batch-Commit"] = "1"
                await nc.publish(s.subject, encode(env), reply=reply, headers=headers)
            else:
                await nc.publish(s.subject, encode(env), headers=headers)


# -- loading many ---------------------------------------------------------------------------------
MULTI_LAST = 500  # subjects per multi-last Direct Get


async def load_many(
    store: EventStore, agg: AggregateType[S], targets: list[tuple[str, str | None]], *, window: int = 64
) -> list[Loaded[S] | Exception]:
    """Each (aggregate id, jurisdiction or None) loaded as ``EventStore.load`` loads it.

    Per target its state, or the exception its load raised. Cold aggregates shorter than a
    snapshot's interval are read in rounds of single Direct Gets, all in flight: first every
    one's last event (one multi-last request per ``MULTI_LAST``), then each one's events from the
    first on, one per round. A batch Direct Get costs the server some five single ones (measured
    in bench/watcher.py's notes), so this reads a wave of two-event aggregates in two requests per
    aggregate's worth of single gets. The others (held by this process, longer, or not found
    where expected) go through ``EventStore.load``, ``window`` at once.
    """
    out: list[Loaded[S] | Exception | None] = [None] * len(targets)
    alone: list[int] = []
    cold: dict[str, int] = {}  # subject -> position in targets
    known: dict[int, str] = {}
    for i, (aggregate_id, jurisdiction) in enumerate(targets):
        where = jurisdiction or store._where.get((agg.name, aggregate_id))
        subject = _subject(agg.context, where, agg.name, aggregate_id) if where else ""
        if not where or subject in cold or store._cached(agg, aggregate_id, where) is not None:
            alone.append(i)
            continue
        cold[subject] = i
        known[i] = where
    if cold:
        alone += await _load_cold(store, agg, targets, cold, known, out)
    if alone:
        slots = asyncio.Semaphore(window)

        async def one(i: int) -> Loaded[S]:
            async with slots:
                return await store.load(agg, targets[i][0], targets[i][1])

        got = await asyncio.gather(*(one(i) for i in alone), return_exceptions=True)
        for i, g in zip(alone, got, strict=True):
            if isinstance(g, BaseException) and not isinstance(g, Exception):
                raise g
            out[i] = g
    return [x if x is not None else EventStoreError("not loaded") for x in out]


async def _load_cold(
    store: EventStore,
    agg: AggregateType[S],
    targets: list[tuple[str, str | None]],
    cold: dict[str, int],
    known: dict[int, str],
    out: list[Loaded[S] | Exception | None],
) -> list[int]:
    """Fill ``out`` for the cold aggregates it can read in rounds; return those left to ``load``."""
    stream = _stream(agg.context)
    limit = agg.snapshot_every if store.snapshots is not None and agg.snapshot_every > 0 else jsapi.DIRECT_BATCH
    mux = await jsapi._mux(store.nc)
    subjects = list(cold)
    lasts: dict[str, jsapi.StoredMsg] = {}
    for k in range(0, len(subjects), MULTI_LAST):
        part = subjects[k : k + MULTI_LAST]
        for m in await mux.get(stream, {"multi_last": part, "batch": len(part)}, LOAD_TIMEOUT):
            status = (m.headers or {}).get("Status")
            if status in ("204", "404"):
                break
            if status:
                return list(cold.values())  # let each load say what is wrong
            sm = jsapi._stored(m)
            lasts[sm.subject] = sm
    left: list[int] = []
    reading: dict[str, tuple[int, list[Envelope], Envelope]] = {}  # subject -> (from seq, read, last)

    def done(subject: str, envelopes: list[Envelope]) -> None:
        i = cold[subject]
        try:
            loaded = store._fold(agg, targets[i][0], known[i], envelopes, None)
        except EventStoreError as exc:  # a gap in the sequence: never decide on it
            out[i] = exc
            return
        if loaded.exists:
            store._remember(agg, loaded.id, known[i])
            store._keep(subject, loaded)
        out[i] = loaded

    for subject, i in cold.items():
        got = lasts.get(subject)
        if got is None:
            done(subject, [])  # nothing stored: a new aggregate, as ``load`` finds it
            continue
        last = decode(got.data, stream_seq=got.seq, subject=subject)
        if last.sequence == 1:
            done(subject, [last])
        elif last.sequence >= limit:
            left.append(i)  # long enough to have a snapshot: ``load`` reads it
        else:
            reading[subject] = (1, [], last)
    while reading:
        # The event just before the last is asked for without headers (its stream sequence is
        # not needed; nats-py parses headers at some 40 µs a message): in a wave of two-event
        # aggregates, the only read of each.
        replies = await mux.get_each(
            [
                (stream, _next(subject, start, bare=len(read) + 2 >= last.sequence))
                for subject, (start, read, last) in reading.items()
            ],
            LOAD_TIMEOUT,
        )
        more: dict[str, tuple[int, list[Envelope], Envelope]] = {}
        for (subject, (_, read, last)), reply in zip(reading.items(), replies, strict=True):
            if reply is None or (reply.headers or {}).get("Status"):
                left.append(cold[subject])
                continue
            sm = jsapi._stored(reply)
            if sm.seq >= last.stream_seq:
                left.append(cold[subject])  # the last event before the one before it: ``load`` tells
                continue
            read.append(decode(sm.data, stream_seq=sm.seq, subject=subject))
            if read[-1].sequence >= last.sequence - 1:
                done(subject, [*read, last])  # a body out of sequence: ``_fold`` refuses it
            elif not sm.seq:
                left.append(cold[subject])
            else:
                more[subject] = (sm.seq + 1, read, last)
        reading = more
    return left


def _next(subject: str, start: int, *, bare: bool) -> dict[str, Any]:
    """A single Direct Get of the subject's first message at or after ``start`` (``bare``: its body only)."""
    req: dict[str, Any] = {"seq": start, "next_by_subj": subject}
    if bare:
        req["no_hdr"] = True
    return req


__all__ = ["MAX_MESSAGES", "Command", "append_many", "load_many", "seal_command"]
