"""Matrix cases of 退回修改 (send back for revision) and the lead deputy's revision (suggestions service).

Seeded after ``matrix_suggestions`` (it reuses that seed's foreign suggestions for the outside
cells): a submitted suggestion per assigning role to send back, a sent-back one for the lead
deputy to revise, and a street's for the street rule.
"""

from __future__ import annotations

from typing import Any

from tests.auth.matrix_core import Case, Extra, Probe, Record, World, by_role
from tests.auth.matrix_suggestions import ASSIGNERS, Builder, S

REASON = {"reason": "请补充法律依据"}


async def seed(w: World) -> None:
    b = Builder(w)
    tw, me, co_dep = w.township, w.deputy_id, w.store["co_deputy"]
    outside = w.store["s_read"]["outside"]
    send_back = {r: await b.suggestion(tw, [me], "submitted") for r in ASSIGNERS}
    revise = await b.suggestion(tw, [me, co_dep], "submitted")
    co_revise = await b.suggestion(tw, [me, co_dep], "submitted")
    for sid in (revise, co_revise):
        await b.call("POST", f"{S}/{sid}/send-back", b.staff(tw), json=REASON)
    street = {k: await b.suggestion(w.street, [w.store["street_deputy"]], "submitted") for k in ("street", "county")}
    w.store.update(
        {
            "r_send_back": {"inside": send_back, "outside": outside},
            "r_revise": {"inside": revise, "outside": outside},
            "r_co_revise": co_revise,
            "r_street": street,
        }
    )


def _probe(key: str, verb: str, body: dict[str, Any]) -> Any:
    pick = by_role(key)
    return lambda w, role, where: Probe("POST", f"{S}/{pick(w, role, where)}/{verb}", json=body)


def _street_staff(w: World) -> list[Extra]:
    """Street staff may not send a street's suggestion back (403); county staff may (200)."""
    street, county = w.store["r_street"]["street"], w.store["r_street"]["county"]
    return [
        Extra(
            "township_staff",
            "street staff",
            lambda w: Probe("POST", f"{S}/{street}/send-back", json=REASON),
            403,
            bound=lambda w: {"jurisdiction": w.street},
        ),
        Extra(
            "county_staff",
            "county staff on a street's",
            lambda w: Probe("POST", f"{S}/{county}/send-back", json=REASON),
            200,
        ),
    ]


def _co_deputy(w: World) -> list[Extra]:
    """A co-submitter sees the suggestion, but only the lead deputy revises (403)."""
    sid = w.store["r_co_revise"]
    return [
        Extra(
            "deputy",
            "co-submitter",
            lambda w: Probe("POST", f"{S}/{sid}/revise", json={"title": "联名代表修改"}),
            403,
            bound=lambda w: {"deputy_id": w.store["co_deputy"]},
        )
    ]


CASES: dict[tuple[str, str], Case] = {
    ("POST", f"{S}/{{suggestion_id}}/send-back"): Record(
        _probe("r_send_back", "send-back", REASON), extras=_street_staff
    ),
    ("POST", f"{S}/{{suggestion_id}}/revise"): Record(
        _probe("r_revise", "revise", {"content": "已补充法律依据"}), extras=_co_deputy
    ),
}
