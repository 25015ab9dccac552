"""Each place's own duty records: the township figures count only the deputies grouped in (or
elected to) the place, so handing each place only its own is the same figure, without the rest."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from services.supervision.records import Facts


@dataclass(frozen=True)
class PlaceDuty:
    """The duty records of the deputies grouped in (or elected to) one place."""

    deputies: list[Any]
    activities: list[Any]
    attended: list[Any]
    submitted: list[Any]
    reports: list[Any]


def duty_of(f: Facts, code: str) -> PlaceDuty:
    index = f.duty_index
    if index is None:
        index = f.duty_index = {
            "activities": _by_deputy(f.activities),
            "attended": _by_deputy(f.attended),
            "reports": _by_deputy(f.reports),
            "submitted": _by_deputy((s.deputy_ids[0], s) for s in f.submitted),
        }
    places = index.get("places")
    if places is None:
        places = index["places"] = _by_place(f.deputies)
    mine = places.get(code, [])
    ids = {x.deputy_id for x in mine}

    def pick(kind: str) -> list[Any]:
        return [r for i in ids for r in index[kind].get(i, ())]

    return PlaceDuty(mine, pick("activities"), pick("attended"), pick("submitted"), pick("reports"))


def _by_deputy(records: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for r in records:
        if isinstance(r, tuple):
            out[r[0]].append(r[1])
        else:
            out[r.deputy_id].append(r)
    return out


def _by_place(deputies: list[Any]) -> dict[str, list[Any]]:
    """Each place's deputies (grouped in it or elected to its congress), in the order given."""
    out: dict[str, list[Any]] = defaultdict(list)
    for d in deputies:
        for code in {d.township, d.congress if d.level == "township" else None} - {None}:
            out[code].append(d)
    return out
