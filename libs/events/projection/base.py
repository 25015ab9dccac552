"""What a projection declares: its tables, the contexts it reads, and what it does per event.

Two ways to say which events it reads, never both kept by hand:

- a dispatch table: methods marked ``@on(EventClass)`` (or ``@on("ContractTypeName")`` for another
  context's event); ``handles`` is then derived from it, and the default ``apply`` dispatches;
- ``handles`` (classes or contract type names) with an ``apply`` that matches on ``env.data``.

A class that declares ``handles`` *and* ``@on`` methods must list the same types (checked when
the class is made), so the two cannot drift.

``raw = True``: the projection reads envelopes only (ids, sequence, hash, jurisdiction), for every
event of its contexts whatever its type; the event data is not decoded (``env.data`` is None), so
it needs no event class (the locator, the audit anchors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Connection, Index, MetaData
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable

from libs.events.envelope import Envelope
from libs.events.event import Event

Handler = Callable[[Any, Any, Envelope, AsyncConnection], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])
_MARK = "_renda_handles"


def type_name(t: type[Event] | str) -> str:
    return t if isinstance(t, str) else t.type_name


def on(*types: type[Event] | str) -> Callable[[F], F]:
    """Mark a method ``async def x(self, e, env, tx)`` as the projection's handler of ``types``."""
    if not types:
        raise TypeError("@on needs at least one event class or type name")

    def mark(fn: F) -> F:
        setattr(fn, _MARK, (*getattr(fn, _MARK, ()), *(type_name(t) for t in types)))
        return fn

    return mark


class Projection:
    """Subclass with ``name``, ``contexts``, ``metadata`` and either ``@on`` handlers or ``handles`` + ``apply``."""

    name: ClassVar[str]
    contexts: ClassVar[tuple[str, ...]]
    metadata: ClassVar[MetaData]
    # empty: every event. By class, or by contract type name where the class is another context's.
    handles: ClassVar[tuple[type[Event] | str, ...]] = ()
    raw: ClassVar[bool] = False  # envelopes only, data not decoded (see the module's docstring)
    version: ClassVar[int] = 1  # bump when apply changes meaning, to rebuild
    # Tables created beside the projection's but never dropped when it is rebuilt (audit anchors).
    kept: ClassVar[MetaData | None] = None
    dispatch: ClassVar[dict[str, Handler]] = {}
    # Indexes of its tables that ``apply`` never reads through. A rebuild from zero creates them
    # after the last event: one sorted build instead of a random insert per row, which at a
    # county's or city's size misses the page cache on nearly every row (bench.replay_scale).
    deferred_indexes: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, Handler] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for t in getattr(attr, _MARK, ()):
                    table[t] = attr
        cls.dispatch = table
        if not table:
            return
        declared = cls.__dict__.get("handles")
        if declared is not None and frozenset(type_name(t) for t in declared) != frozenset(table):
            missing = sorted(frozenset(type_name(t) for t in declared) ^ frozenset(table))
            raise TypeError(f"{cls.__name__}: handles and its @on handlers differ in {missing}")
        cls.handles = tuple(table)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        handler = self.dispatch.get(env.type)
        if handler is None:
            if self.dispatch:
                return
            raise NotImplementedError(f"{type(self).__name__}: neither apply nor @on handlers")
        await handler(self, env.data, env, tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """One batch's events, in stream order, in the batch's transaction.

        Override to write them in bulk (an executemany): one statement per event costs a driver
        round trip and SQLAlchemy's per-statement work each (bench/: replay). The result must be
        the same as ``apply`` one by one.
        """
        for env in envs:
            await self.apply(env, tx)

    def definition(self, dialect: Any) -> str:
        ddl = "\n".join(str(CreateTable(t).compile(dialect=dialect)) for t in self.metadata.sorted_tables)
        return hashlib.sha256(f"{self.name}/v{self.version}\n{ddl}".encode()).hexdigest()

    def deferred(self) -> list[Index]:
        """The ``Index`` objects named by ``deferred_indexes`` (a name that is none of them is a typo: an error)."""
        found = {str(ix.name): ix for t in self.metadata.sorted_tables for ix in t.indexes}
        missing = sorted(set(self.deferred_indexes) - set(found))
        if missing:
            raise LookupError(f"{self.name}: deferred_indexes names no index of its tables: {missing}")
        return [found[n] for n in self.deferred_indexes]

    def wants(self) -> frozenset[str] | None:
        return frozenset(type_name(e) for e in self.handles) if self.handles else None


def create_missing_indexes(conn: Connection, metadata: MetaData) -> None:
    """Every index of ``metadata``'s tables that the database lacks (a rebuild stopped before it
    created its deferred ones): ``create_all`` creates indexes only with their tables."""
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
