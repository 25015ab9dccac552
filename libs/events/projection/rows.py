"""One batch's writes to one table, kept in memory and written in bulk at the end.

A projection applies a batch's events in order to rows held here: rows inserted by the batch
(``add``), rows read from the database once for the whole batch (``load``), and changes to rows
it never read (``set_by_key``, ``delete_by_key``: a blind update or delete). ``flush`` then
writes one executemany per table and per set of changed columns. The outcome is the same as one
statement per event, in order: every change lands on the row it would have, and the last value of
a column wins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.db.bulk import insert_rows

CHUNK = 500  # ids per IN (…) when loading


def chunks(values: Iterable[Any], n: int = CHUNK) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), n):
        yield items[i : i + n]


class Rows:
    """The rows of ``table`` a batch touches, indexed by primary key and by ``group`` (a column)."""

    def __init__(self, table: Table, group: str | None = None) -> None:
        self.table = table
        self.key = tuple(c.name for c in table.primary_key.columns)
        self.group = group
        self.new: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.loaded: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.changed: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.deleted: set[tuple[Any, ...]] = set()
        self.by_group: dict[Any, list[dict[str, Any]]] = defaultdict(list)

    def pk(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in self.key)

    def add(self, **row: Any) -> dict[str, Any]:
        k = self.pk(row)
        if k in self.new or (k in self.loaded and k not in self.deleted):
            raise ValueError(f"{self.table.name}: a second row {k}")  # as the insert would have failed
        # A key deleted earlier in the batch stays deleted: the flush deletes the stored row first,
        # then inserts this one.
        self.new[k] = row
        if self.group:
            self.by_group[row[self.group]].append(row)
        return row

    async def load(self, tx: AsyncConnection, column: str, values: Iterable[Any], *where: Any) -> None:
        """Read the rows whose ``column`` is in ``values`` (and ``where``), unless already held."""
        col = self.table.c[column]
        for part in chunks(set(values)):
            q = select(self.table).where(col.in_(part), *where)
            for r in (await tx.execute(q)).mappings():
                row = dict(r)
                k = self.pk(row)
                if k in self.new or k in self.loaded:
                    continue
                self.loaded[k] = row
                if self.group:
                    self.by_group[row[self.group]].append(row)

    def of(self, group_value: Any) -> list[dict[str, Any]]:
        """The rows held with ``group == group_value`` (loaded or added, not deleted), oldest first."""
        return list(self.by_group.get(group_value, ()))

    def get(self, *key: Any) -> dict[str, Any] | None:
        return self.new.get(key) or (None if key in self.deleted else self.loaded.get(key))

    def set(self, row: dict[str, Any], **values: Any) -> None:
        row.update(values)
        k = self.pk(row)
        if self.new.get(k) is not row:
            self.changed.setdefault(k, {}).update(values)

    def set_by_key(self, key: tuple[Any, ...], **values: Any) -> None:
        """Change a row that may not be held (an update of a row never read): applied at flush."""
        row = self.get(*key)
        if row is not None:
            self.set(row, **values)
        else:
            self.changed.setdefault(key, {}).update(values)

    def delete_by_key(self, key: tuple[Any, ...]) -> None:
        """Delete a row that may not be held (a delete of a row never read): applied at flush."""
        row = self.get(*key)
        if row is not None:
            self.delete(row)
        else:
            self.deleted.add(key)
            self.changed.pop(key, None)

    def delete(self, row: dict[str, Any]) -> None:
        """Delete a held row."""
        k = self.pk(row)
        if self.new.get(k) is row:
            del self.new[k]
        else:
            self.deleted.add(k)
            self.changed.pop(k, None)
        if self.group:
            self.by_group[row[self.group]] = [r for r in self.by_group[row[self.group]] if r is not row]

    async def flush(self, tx: AsyncConnection) -> None:
        c = self.table.c
        where_key = and_(*(c[k] == bindparam(f"k_{k}") for k in self.key))
        if self.deleted:
            await tx.execute(self.table.delete().where(where_key), [self._keyed(k) for k in self.deleted])
        by_columns: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
        for k, values in self.changed.items():
            if k in self.deleted:
                continue
            by_columns[frozenset(values)].append({**self._keyed(k), **{f"v_{n}": v for n, v in values.items()}})
        for columns, params in by_columns.items():
            stmt = self.table.update().where(where_key).values({n: bindparam(f"v_{n}") for n in columns})
            await tx.execute(stmt, params)
        if self.new:
            await insert_rows(tx, self.table, list(self.new.values()))

    def _keyed(self, k: tuple[Any, ...]) -> dict[str, Any]:
        return {f"k_{n}": v for n, v in zip(self.key, k, strict=True)}
