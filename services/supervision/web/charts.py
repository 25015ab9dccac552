"""The data behind the overview's charts (drawn by static/charts.js with ECharts).

Each chart's data travels as JSON in the page (a ``type="application/json"`` block: no inline
script runs), and the same rows are in a table beside it.
"""

from __future__ import annotations

from typing import Any

from libs.figures.rates import RATE_NAMES
from services.supervision.flags import RATE_ZH


def _weakest(item: dict[str, Any]) -> float:
    known = [r["rate"] for r in item["rates"].values() if r["rate"] is not None]
    return min(known) if known else 2.0


def rates_per_township(rows: list[dict[str, Any]], total: dict[str, Any] | None) -> dict[str, Any]:
    ordered = sorted(rows, key=lambda i: (_weakest(i), i["code"]))
    return {
        "labels": [i["name"] for i in ordered],
        "codes": [i["code"] for i in ordered],
        "series": [
            {
                "name": RATE_ZH[n],
                "key": n,
                "data": [
                    {
                        "value": None if i["rates"][n]["rate"] is None else round(i["rates"][n]["rate"] * 100, 1),
                        "frac": f"{i['rates'][n]['numerator']}/{i['rates'][n]['denominator']}",
                    }
                    for i in ordered
                ],
                "total": None
                if not total or total["rates"][n]["rate"] is None
                else round(total["rates"][n]["rate"] * 100, 1),
                "total_frac": ""
                if not total
                else f"{total['rates'][n]['numerator']}/{total['rates'][n]['denominator']}",
            }
            for n in RATE_NAMES
        ],
    }


def unit_league(units: list[dict[str, Any]], limit: int = 15) -> dict[str, Any]:
    rated = [u for u in units if u["rates"]["satisfaction_rate"]["rate"] is not None]
    worst = sorted(rated, key=lambda u: (u["rates"]["satisfaction_rate"]["rate"], -u["unsatisfied"], u["name"]))[:limit]
    worst.reverse()  # ECharts draws the first category at the bottom: the worst goes on top
    return {
        "labels": [u["name"] for u in worst],
        "ids": [u["unit_id"] for u in worst],
        "data": [
            {
                "value": round(u["rates"]["satisfaction_rate"]["rate"] * 100, 1),
                "frac": "{numerator}/{denominator}".format(**u["rates"]["satisfaction_rate"]),
                "over": u["over_limit"],
                "unsatisfied": u["unsatisfied"],
            }
            for u in worst
        ],
    }


def presidium_cadence(rows: list[dict[str, Any]]) -> dict[str, Any]:
    towns = [i for i in rows if i["kind"] == "township"]
    points = []
    for y, i in enumerate(towns):
        missing = set((i.get("presidium") or {}).get("quarters_missing", []))
        for q in range(1, 5):
            n = i["presidium_meetings"].get(f"Q{q}")
            state = "missed" if q in missing else ("held" if n else "pending")
            points.append({"x": q - 1, "y": y, "n": n or 0, "state": state})
    gaps = [((i.get("presidium") or {}).get("longest_gap") or {}).get("months", "") for i in towns]
    return {"labels": [i["name"] for i in towns], "points": points, "gaps": gaps}


def overview(data: dict[str, Any], units: list[dict[str, Any]], trend: list[dict[str, Any]]) -> dict[str, Any]:
    rows = data["items"]
    return {
        "rates": rates_per_township(rows, data.get("total")),
        "trend": {"labels": [t["month"] for t in trend], "data": [t["open_overdue"] for t in trend]},
        "units": unit_league(units),
        "cadence": presidium_cadence(rows),
    }
