"""Loading one aggregate from its own subject: the held state brought up to date, or snapshot + events.

A state this process holds is brought up to date by reading only newer events; otherwise the
aggregate's snapshot (libs/events/snapshots.py) and its last event are asked for together, and
only the events past the snapshot are read and folded. A snapshot is written, in the background,
once ``snapshot_every`` events have been folded past the last one.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from libs.events import jetstream as jsapi
from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.cache import AggregateCache, _stream, _subject
from libs.events.envelope import GENESIS, Envelope, decode
from libs.events.errors import CorruptStream, EventStoreError
from libs.events.records import Loaded, S, _recent
from libs.events.subjects import SNAPSHOT_STREAM, snapshot_subject

_snapshot_subject = lru_cache(maxsize=4_096)(snapshot_subject)
_SNAPSHOT_BODY_ONLY = frozenset({SNAPSHOT_STREAM})  # the body says all; its headers cost a parse


class AggregateLoads(AggregateCache):
    # -- reading ------------------------------------------------------------------------------
    async def read(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> list[Envelope]:
        jurisdiction = jurisdiction or await self._jurisdiction_of(agg, aggregate_id)
        if jurisdiction is None:
            return []
        return await self._events(_stream(agg.context), _subject(agg.context, jurisdiction, agg.name, aggregate_id))

    async def _events(self, stream: str, subject: str, start_seq: int = 1) -> list[Envelope]:
        return [
            decode(m.data, stream_seq=m.seq, subject=m.subject)
            async for m in jsapi.direct_get_subject(self.nc, stream, subject, start_seq=start_seq)
        ]

    async def load(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> Loaded[S]:
        """The aggregate's current state, reading only its own subject.

        Pass ``jurisdiction`` when the caller knows where the aggregate lives (a fresh id, or an id
        that names its place, like a division code); otherwise it is looked up.
        """
        known = jurisdiction or await self._jurisdiction_of(agg, aggregate_id)
        if not known:
            return self._fold(agg, aggregate_id, None, [], None)
        subject = _subject(agg.context, known, agg.name, aggregate_id)
        stream = _stream(agg.context)
        cached = self._states.get(subject)
        if cached is not None and cached.type is agg:
            after = cached.last_stream_seq + 1
            if await jsapi.direct_get_next(self.nc, stream, subject, after) is None:
                return cached  # nothing stored since: one plain request, the usual case of a busy aggregate
            loaded = self._fold(agg, aggregate_id, known, await self._events(stream, subject, after), cached)
        else:
            loaded = await self._load_cold(agg, aggregate_id, known, stream, subject)
        loaded = self._snapshot_if_due(loaded)
        self._keep(subject, loaded)
        return loaded

    async def _load_cold(
        self, agg: AggregateType[S], aggregate_id: str, known: str, stream: str, subject: str
    ) -> Loaded[S]:
        """Snapshot and last event in one round trip; then only the events past the snapshot, if any.

        The snapshot is used only where the events confirm it: its last event is the aggregate's
        last (same stream sequence, sequence and hash), or the events after it link onto it
        (next sequence, ``prev_hash`` = its ``last_hash``). Otherwise every event is read.
        """
        snapshots = self.snapshots
        codec = snapshots.codec(agg) if snapshots is not None and not snapshots.reads_paused else None
        if snapshots is None or codec is None:
            return self._fold(agg, aggregate_id, known, await self._events(stream, subject), None)
        got_snapshot, got_last = await jsapi.direct_get_last_each(
            self.nc,
            [(SNAPSHOT_STREAM, _snapshot_subject(agg.context, agg.name, aggregate_id)), (stream, subject)],
            bodies_only=_SNAPSHOT_BODY_ONLY,
        )
        if isinstance(got_last, EventStoreError):
            raise got_last
        if got_last is None:
            return self._fold(agg, aggregate_id, known, [], None)  # no event: a new aggregate
        last = decode(got_last.data, stream_seq=got_last.seq, subject=got_last.subject)
        base = self._from_snapshot(agg, codec, aggregate_id, known, got_snapshot)
        if base is None:
            if last.sequence == 1:
                return self._fold(agg, aggregate_id, known, [last], None)
        elif last.stream_seq == base.last_stream_seq:
            if last.sequence == base.version and last.hash == base.last_hash:
                return base  # the snapshot is of the last event
        elif last.stream_seq > base.last_stream_seq:
            if last.sequence == base.version + 1 and last.prev_hash == base.last_hash:
                return self._fold(agg, aggregate_id, known, [last], base)  # one event past it
            if last.sequence > base.version + 1:
                tail = await self._events(stream, subject, base.last_stream_seq + 1)
                if tail and tail[0].sequence == base.version + 1 and tail[0].prev_hash == base.last_hash:
                    return self._fold(agg, aggregate_id, known, tail, base)
        if base is not None:
            snapshots.once(
                "events.snapshot.mismatch",
                agg.name,
                aggregate_type=agg.name,
                aggregate_id=aggregate_id,
                snapshot_version=base.version,
                last_sequence=last.sequence,
                note="read every event instead",
            )
        return self._fold(agg, aggregate_id, known, await self._events(stream, subject), None)

    def _from_snapshot(
        self,
        agg: AggregateType[S],
        codec: snap.Codec,
        aggregate_id: str,
        known: str,
        got: jsapi.StoredMsg | EventStoreError | None,
    ) -> Loaded[S] | None:
        if got is None:
            return None
        assert self.snapshots is not None
        if isinstance(got, EventStoreError):
            self.snapshots.read_failed(got, agg)
            return None
        try:
            s = snap.decode(agg, codec, aggregate_id, got.data)
            if s.jurisdiction != known:
                raise snap.Unusable(f"jurisdiction {s.jurisdiction} where {known} expected")
        except snap.Unusable as exc:
            self.snapshots.once(
                "events.snapshot.unusable",
                agg.name,
                aggregate_type=agg.name,
                aggregate_id=aggregate_id,
                reason=str(exc),
                note="read every event instead",
            )
            return None
        return Loaded(
            type=agg,
            id=aggregate_id,
            state=s.state,
            version=s.version,
            last_stream_seq=s.last_stream_seq,
            last_hash=s.last_hash,
            jurisdiction=known,
            causations=frozenset(s.causations),
            recent=s.causations,
            snapshot_version=s.version,
        )

    def _snapshot_if_due(self, loaded: Loaded[S]) -> Loaded[S]:
        """Write a snapshot (in the background) once ``snapshot_every`` events are past the last one."""
        agg = loaded.type
        if (
            self.snapshots is None
            or agg.snapshot_every <= 0
            or loaded.version - loaded.snapshot_version < agg.snapshot_every
            or loaded.jurisdiction is None
        ):
            return loaded
        codec = self.snapshots.codec(agg)
        if codec is None:
            return loaded
        self.snapshots.write(
            agg,
            codec,
            _snapshot_subject(agg.context, agg.name, loaded.id),
            loaded.id,
            snap.Snapshot(
                version=loaded.version,
                last_stream_seq=loaded.last_stream_seq,
                last_hash=loaded.last_hash,
                jurisdiction=loaded.jurisdiction,
                causations=loaded.recent,
                state=loaded.state,
            ),
        )
        return replace(loaded, snapshot_version=loaded.version)

    def _fold(
        self,
        agg: AggregateType[S],
        aggregate_id: str,
        known: str | None,
        envelopes: list[Envelope],
        cached: Loaded[S] | None,
    ) -> Loaded[S]:
        if cached is not None and not envelopes:
            return cached
        state = cached.state if cached is not None else agg.initial(aggregate_id)
        expected = cached.version if cached is not None else 0
        for env in envelopes:
            expected += 1
            if env.sequence != expected:
                # A gap or a reordering means a stored event was lost or altered: never decide on it.
                raise CorruptStream(f"{agg.name} {aggregate_id}: event #{env.sequence} where #{expected} expected")
            state = agg.evolve(state, env.data)
        last = envelopes[-1] if envelopes else None
        ids = [e.causation_id for e in envelopes]
        causations = frozenset(ids)
        return Loaded(
            type=agg,
            id=aggregate_id,
            state=state,
            version=last.sequence if last else 0,
            last_stream_seq=last.stream_seq if last else 0,
            last_hash=last.hash if last else GENESIS,
            jurisdiction=known,
            causations=cached.causations | causations if cached is not None else causations,
            recent=_recent(cached.recent if cached is not None else (), ids),
            snapshot_version=cached.snapshot_version if cached is not None else 0,
        )
