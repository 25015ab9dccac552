"""Where aggregates live and the states this process holds: the store's caches.

``_where`` maps (aggregate type, id) to its jurisdiction (the subject's place): what this process
wrote or read, else the service's locator read model, else a slow wildcard read of the
aggregate's first message. ``_states`` keeps the aggregates this process loaded or wrote last, by
subject: a load then reads only the events stored after them (the streams are append-only).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any

from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.envelope import decode
from libs.events.records import Loaded, Locate, S
from libs.events.subjects import aggregate_subject, any_jurisdiction_subject, stream_name

STATE_CACHE = 1_000  # aggregates whose state is kept between commands (bounded: causations grow)
# Pure and called on every command: kept (the subject's validation is a regex per token).
_subject = lru_cache(maxsize=16_384)(aggregate_subject)
_stream = lru_cache(maxsize=64)(stream_name)


class AggregateCache:
    def __init__(
        self, nc: NATS, *, locate: Locate | None = None, cache_size: int = 100_000, snapshots: bool = True
    ) -> None:
        """``snapshots=False``: never read nor write snapshots (every cold load reads every event)."""
        self.nc = nc
        self._locate = locate
        self._where: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._cache_size = cache_size
        # Aggregates this process loaded or wrote last, by subject: a load then reads only the
        # events stored after them (the stream is append-only: deny_delete, deny_purge).
        self._states: OrderedDict[str, Loaded[Any]] = OrderedDict()
        self._states_size = min(cache_size, STATE_CACHE)
        self.snapshots = snap.Snapshots(nc) if snapshots else None

    # -- where an aggregate lives -------------------------------------------------------------
    def _remember(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str) -> None:
        key = (agg.name, aggregate_id)
        self._where[key] = jurisdiction
        self._where.move_to_end(key)
        if len(self._where) > self._cache_size:
            self._where.popitem(last=False)

    async def _jurisdiction_of(self, agg: AggregateType[S], aggregate_id: str) -> str | None:
        found = self._where.get((agg.name, aggregate_id))
        if found is None and self._locate is not None:
            found = await self._locate(agg.context, agg.name, aggregate_id)
        if found is None:
            # Slow path (the locator lags behind): find the aggregate's first message by wildcard.
            first = await jsapi.direct_get_first(
                self.nc, stream_name(agg.context), any_jurisdiction_subject(agg.context, agg.name, aggregate_id)
            )
            if first is not None:
                found = decode(first.data).jurisdiction
        if found is not None:
            self._remember(agg, aggregate_id, found)
        return found

    def held(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> Loaded[S] | None:
        """The state this process holds of the aggregate, maybe behind the stream; None if none.

        Only for deciding optimistically: an append on it is refused by the expected-sequence
        guard if the aggregate moved on, and any refusal must be decided again on ``load``.
        """
        return self._cached(agg, aggregate_id, jurisdiction)

    def _cached(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None) -> Loaded[S] | None:
        where = jurisdiction or self._where.get((agg.name, aggregate_id))
        if where is None or self._states_size <= 0:
            return None
        held = self._states.get(_subject(agg.context, where, agg.name, aggregate_id))
        return held if held is not None and held.type is agg else None

    def _keep(self, subject: str, loaded: Loaded[Any]) -> None:
        if self._states_size <= 0 or not loaded.exists:
            return
        held = self._states.get(subject)
        if held is not None and held.last_stream_seq > loaded.last_stream_seq:
            return  # a concurrent command of this process got further
        self._states[subject] = loaded
        self._states.move_to_end(subject)
        if len(self._states) > self._states_size:
            self._states.popitem(last=False)
