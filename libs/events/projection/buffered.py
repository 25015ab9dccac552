"""Plain single-row INSERTs of a batch, sent as one executemany per run of the same table and columns.

A read model applied event by event does ``tx.execute(table.insert().values(...))`` per event.
SQLAlchemy then builds a cache key, finds the compiled form and sets up an execution context for
each, and PostgreSQL pays a round trip for each: under rebuild that is most of the cost
(profiled: ``bench.replay_scale``). ``BufferedTx`` holds such INSERTs while they follow one
another into the same table with the same columns, and sends them as one ``executemany`` of the
table's plain INSERT (the same SQL, the same column types and defaults) before any other
statement, at ``flush`` and before the transaction commits: the order of writes in the
transaction is unchanged, so every read sees what came before it.

Only the simplest form is held: an ``Insert`` with literal values and nothing else (no
RETURNING, ON CONFLICT, multi-row VALUES, SELECT or SQL expression); anything else is executed
at once. A held INSERT returns no result (its ``rowcount`` is 1); a failure shows at the flush,
which fails the batch, and the batch's isolation (``batch._isolate``) applies message by
message to find the one that fails.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.sqltypes import NullType

from libs.db.bulk import insert_rows

_PLAIN = frozenset({"table", "_values"})


class Held:
    """What ``execute`` returns for a held INSERT: one row, no result set."""

    rowcount = 1


HELD = Held()


def plain_row(statement: Any) -> tuple[Table, tuple[str, ...], dict[str, Any]] | None:
    """(table, column keys, row) of a single-row INSERT of literal values; None for anything else."""
    if type(statement) is not Insert:
        return None
    attrs = vars(statement)
    if not attrs.keys() <= _PLAIN:
        return None
    table = attrs.get("table")
    values = attrs.get("_values")
    if not isinstance(table, Table) or not values:
        return None
    row: dict[str, Any] = {}
    columns = table.c
    for key, value in values.items():
        name = key if isinstance(key, str) else getattr(key, "key", None)
        if (
            not isinstance(name, str)
            or name not in columns
            or type(value) is not BindParameter
            or value.callable is not None
            or value.expanding
            or not isinstance(value.type, NullType)
        ):
            return None
        row[name] = value.value
    return table, tuple(row), row


class BufferedTx:
    """A write transaction (``AsyncConnection`` or ``InlineTx``) that holds runs of plain INSERTs."""

    def __init__(self, tx: Any) -> None:
        self.tx = tx
        self._key: tuple[Table, tuple[str, ...]] | None = None
        self._rows: list[dict[str, Any]] = []

    async def flush(self) -> None:
        if self._rows:
            assert self._key is not None
            rows, self._rows = self._rows, []
            table = self._key[0]
            await insert_rows(self.tx, table, rows)
        self._key = None

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        if parameters is None and not kw:
            held = plain_row(statement)
            if held is not None:
                table, keys, row = held
                if self._key != (table, keys):
                    await self.flush()
                    self._key = (table, keys)
                self._rows.append(row)
                return HELD
        await self.flush()
        return await self.tx.execute(statement, parameters, **kw)

    async def scalar(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        await self.flush()
        return await self.tx.scalar(statement, parameters, **kw)

    async def scalars(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        await self.flush()
        return await self.tx.scalars(statement, parameters, **kw)

    async def exec_driver_sql(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        await self.flush()
        return await self.tx.exec_driver_sql(statement, parameters, **kw)

    async def run_sync(self, fn: Any, *args: Any, **kw: Any) -> Any:
        await self.flush()
        return await self.tx.run_sync(fn, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)
