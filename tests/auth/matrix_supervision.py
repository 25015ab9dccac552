"""Matrix cases of the joint-supervision view (staff only; reads what the other contexts' seeds made)."""

from __future__ import annotations

from tests.auth.matrix_core import Case, List_, Probe, ProbeFn, Record, Where, World, by_role, list_probe

V = "/api/supervision"


def _record(key: str, path: str) -> ProbeFn:
    pick = by_role(key)

    def probe(w: World, role: str, where: Where) -> Probe:
        return Probe("GET", path.format(id=pick(w, role, where)))

    return probe


CASES: dict[tuple[str, str], Case] = {
    ("GET", f"{V}/townships"): List_(
        list_probe(f"{V}/townships"),
        jurisdiction_of=lambda i: i["code"],
        shows=lambda w, role, i: i["code"] == w.township,
    ),
    ("GET", f"{V}/overdue"): List_(list_probe(f"{V}/overdue"), jurisdiction_of=lambda i: i["township"]),
    ("GET", f"{V}/units"): List_(
        list_probe(f"{V}/units"),
        jurisdiction_of=lambda i: i["jurisdiction"],
        shows=lambda w, role, i: i["unit_id"] == w.store["unit"],
        shown_to=("city_staff", "county_staff"),
    ),
    ("GET", f"{V}/suggestions"): List_(
        list_probe(f"{V}/suggestions"),
        jurisdiction_of=lambda i: i["township"],
        shows=lambda w, role, i: i["suggestion_id"] == w.store["s_read"]["inside"],
    ),
    ("GET", f"{V}/suggestions/{{suggestion_id}}"): Record(_record("s_read", f"{V}/suggestions/{{id}}")),
    ("GET", f"{V}/joint-inspections/{{joint_inspection_id}}"): Record(
        _record("joint", f"{V}/joint-inspections/{{id}}")
    ),
}
