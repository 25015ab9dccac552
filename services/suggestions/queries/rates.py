"""The rates of domain.md "Exact definitions" per township, county or unit: facts from the read
model (``projections/rates.py``), figures from ``libs/figures/rates.py``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.figures import rates
from libs.figures.rates import (
    EvaluationRecord,
    PromiseRecord,
    ReplyRecord,
    RoundRecord,
    SuggestionRecords,
)
from services.suggestions.projections.tables import (
    from_date,
    from_text,
    rate_evaluations,
    rate_justified,
    rate_promises,
    rate_replies,
    rate_rounds,
    units,
)

By = Literal["township", "county", "unit"]


async def _rows(conn: AsyncConnection, table: Table, prefix: str) -> list[dict[str, Any]]:
    q = select(table).where(table.c.jurisdiction.startswith(prefix, autoescape=True))
    return [dict(r) for r in (await conn.execute(q)).mappings()]


def _key(by: By) -> Callable[[dict[str, Any]], str]:
    if by == "unit":
        return lambda r: str(r["lead_unit_id"])
    if by == "county":
        return lambda r: str(r["jurisdiction"])[:6]
    return lambda r: str(r["jurisdiction"])


async def rates_under(
    engine: AsyncEngine,
    prefix: str,
    *,
    year: int,
    by: By,
    now: datetime,
    tz: ZoneInfo,
    limit: int,
    name_of: Callable[[str], str | None],
) -> dict[str, Any]:
    async with engine.connect() as conn:
        rounds = await _rows(conn, rate_rounds, prefix)
        replies = await _rows(conn, rate_replies, prefix)
        evaluations = await _rows(conn, rate_evaluations, prefix)
        promises = await _rows(conn, rate_promises, prefix)
        justified = {r["suggestion_id"] for r in await _rows(conn, rate_justified, prefix)}
        unit_rows = {r["unit_id"]: dict(r) for r in (await conn.execute(select(units))).mappings()}
    key = _key(by)
    groups: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in rounds:
        groups[key(r)]["rounds"].append(
            RoundRecord(
                r["suggestion_id"],
                r["round"],
                from_text(r["due_at"]),
                from_text(r["replied_at"]),
            )
        )
    for r in replies:
        groups[key(r)]["replies"].append(
            ReplyRecord(
                r["suggestion_id"],
                r["round"],
                r["result"],
                from_text(r["replied_at"]),
                tuple(r["consultation_modes"]),
            )
        )
    evaluation_records = []
    for r in evaluations:
        e = EvaluationRecord(r["suggestion_id"], r["lead_unit_id"], r["satisfaction"], from_text(r["evaluated_at"]))
        evaluation_records.append(e)
        groups[key(r)]["evaluations"].append(e)
    for r in promises:
        if not r["superseded"]:
            groups[key(r)]["promises"].append(
                PromiseRecord(
                    r["suggestion_id"],
                    r["round"],
                    from_date(r["promised_by"]),  # type: ignore[arg-type]
                    from_date(r["carried_out_on"]),
                )
            )

    def figures(parts: dict[str, list[Any]]) -> dict[str, Any]:
        records = SuggestionRecords(
            rounds=tuple(parts["rounds"]),
            replies=tuple(parts["replies"]),
            evaluations=tuple(parts["evaluations"]),
            promises=tuple(parts["promises"]),
        )
        return rates.suggestion_rates(records, as_of=now, tz=tz, year=year)

    total: dict[str, list[Any]] = defaultdict(list)
    for parts in groups.values():
        for k, v in parts.items():
            total[k].extend(v)
    out_groups = []
    for k in sorted(groups)[:limit]:
        name = unit_rows[k]["name"] if by == "unit" and k in unit_rows else name_of(k)
        out_groups.append({"key": k, "name": name, "rates": figures(groups[k])})
    return {
        "groups": out_groups,
        "total": figures(total),
        "unsatisfied": rates.unsatisfied_by_unit(evaluation_records, justified, year=year, as_of=now, tz=tz),
        "units": unit_rows,
    }


def unsatisfied_rows(counts: dict[str, int], unit_rows: dict[str, dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    out = []
    for unit_id, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        u = unit_rows.get(unit_id, {})
        out.append(
            {
                "unit_id": unit_id,
                "name": u.get("name"),
                "head": u.get("head"),
                "deputy_head": u.get("deputy_head"),
                "unsatisfied": count,
                "limit": limit,
                "over_limit": rates.over_unsatisfied_limit(count, limit),
            }
        )
    return out
