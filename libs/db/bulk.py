"""Many rows into one table: one executemany of the table's INSERT, the rows' values bound by hand.

``tx.execute(table.insert(), rows)`` builds, for every row, a parameter dict through SQLAlchemy's
compiler (``construct_params``) and its execution context: at a county's 411,101 duty activities,
a third of the time of the INSERT (profiled, ``bench.replay_scale``). ``insert_rows`` compiles the
INSERT once per table, dialect and set of columns, converts each value with the column type's own
bind processor (the same conversion SQLAlchemy applies) and hands the driver a list of tuples.

On PostgreSQL (asyncpg), ``COPY_FROM`` rows or more go by COPY instead, in the same transaction.

The columns are a row's keys plus those with a plain default (``default=0``); rows naming other
columns are sent in an executemany of their own (SQLAlchemy's executemany takes the first row's
keys for all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.util import await_only

_Plan = tuple[str, tuple[tuple[str, Callable[[Any], Any] | None, Any], ...], bool]
_PLANS: dict[tuple[Table, str, tuple[str, ...]], _Plan | None] = {}
_MISSING = object()
# From this many rows, PostgreSQL (asyncpg) takes them by COPY: a county's replay sent 822,202 duty
# activity rows through INSERT executemany, the server's parsing and planning of each row included.
COPY_FROM = 64


def _plan(conn: Connection, table: Table, keys: tuple[str, ...]) -> _Plan | None:
    """The INSERT and how to bind each value; None where a column left out has a default computed
    per row (a callable or SQL expression: SQLAlchemy's own executemany then runs it)."""
    cached = _PLANS.get((table, conn.dialect.name, keys), _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    if any(c.key not in keys and c.default is not None and not c.default.is_scalar for c in table.columns):
        _PLANS[(table, conn.dialect.name, keys)] = None
        return None
    defaults = {
        c.key: c.default.arg  # type: ignore[attr-defined]  # a ScalarElementColumnDefault's value
        for c in table.columns
        if c.key not in keys and c.default is not None and c.default.is_scalar
    }
    names = [*keys, *defaults]
    unknown = [k for k in keys if k not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column {unknown}")
    # for_executemany: no RETURNING of a generated key (PostgreSQL adds one to a single-row INSERT)
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=names, for_executemany=True)
    order = list(compiled.positiontup or ()) if compiled.positional else names
    binds = compiled.binds
    columns = tuple(
        (
            binds[name].key,
            table.c[binds[name].key].type.dialect_impl(conn.dialect).bind_processor(conn.dialect),
            defaults.get(binds[name].key, _MISSING),
        )
        for name in order
    )
    plan = (str(compiled), columns, bool(compiled.positional))
    _PLANS[(table, conn.dialect.name, keys)] = plan
    return plan


def _values(plan: _Plan, rows: Sequence[dict[str, Any]]) -> list[Any]:
    _sql, columns, positional = plan
    out: list[Any] = []
    for row in rows:
        values = []
        for key, process, default in columns:
            value = row[key] if default is _MISSING else row.get(key, default)
            values.append(value if process is None else process(value))
        out.append(tuple(values) if positional else dict(zip((c[0] for c in columns), values, strict=True)))
    return out


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` on a sync connection (``run_sync``'s, or an inline SQLite writer's)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:  # rows naming other columns go in an executemany of their own
        by_columns.setdefault(tuple(row), []).append(row)
    for keys, same in by_columns.items():
        plan = _plan(conn, table, keys)
        if plan is None:
            conn.execute(table.insert(), same)
        elif len(same) >= COPY_FROM and conn.dialect.driver == "asyncpg":
            _copy(conn, table, plan, same)
        else:
            conn.exec_driver_sql(plan[0], _values(plan, same))


def _copy(conn: Connection, table: Table, plan: _Plan, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: the rows by COPY on the transaction's own connection (asyncpg's binary copy)."""
    driver = conn.connection.driver_connection
    columns = [key for key, _process, _default in plan[1]]
    records = _values(plan, rows)  # tuples: asyncpg's paramstyle is positional
    await_only(
        driver.copy_records_to_table(table.name, records=records, columns=columns, schema_name=table.schema)  # type: ignore[union-attr]
    )


async def insert_rows(tx: Any, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``insert_many`` in a write transaction (``AsyncConnection``, ``InlineTx`` or ``BufferedTx``)."""
    if rows:
        await tx.run_sync(insert_many, table, rows)
