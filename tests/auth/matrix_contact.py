"""Matrix cases of a deputy's contact change (deputies service): ``PATCH /api/deputies/{deputy_id}``.

Staff over the deputy's jurisdiction change the phone (200, a new number each time so every probe
records a change); a deputy of another jurisdiction answers 404 exactly as an unknown one; the
deputy and organizer roles get 403 (the route's rule).
"""

from __future__ import annotations

from tests.auth.matrix_core import Case, Probe, Record, Where, World, by_role

D = "/api/deputies"
_deputy = by_role("deputy")  # seeded by matrix_deputies: the world's deputy inside, a foreign one per role


def _contact(w: World, role: str, where: Where) -> Probe:
    return Probe("PATCH", f"{D}/{_deputy(w, role, where)}", json={"phone": f"139{w.next() % 10**8:08d}"})


CASES: dict[tuple[str, str], Case] = {
    ("PATCH", f"{D}/{{deputy_id}}"): Record(_contact),
}
