"""Matrix cases of the suggestions service: suggestions through their life, units, constituents' opinions.

Records are built through the service's own API in the seed (submit, assign, consult, reply,
evaluate), as staff of the place and as the lead deputy, so each route meets a suggestion in
the state it acts on. Write routes get a suggestion per role; routes never share one they write.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.suggestions.domain.unit import ORGANIZER_UNIT
from services.suggestions.events import OrganizerUnitRegistered
from tests.auth.matrix_core import (
    STAFF,
    Case,
    Create,
    Extra,
    List_,
    Probe,
    ProbeFn,
    Public,
    Record,
    Where,
    World,
    by_role,
    list_probe,
)
from tests.support.waiting import eventually

S = "/api/suggestions"
UNIT_ROLES = ("organizer", "township_staff", "county_staff")
ASSIGNERS = ("county_staff", "township_staff")
STAGES = ("submitted", "assigned", "consulted", "replied", "promised", "unsatisfied")


class Builder:
    """Drives suggestions to a stage over HTTP, as the county staff over the place and the lead deputy."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.today = datetime.now(w.system.settings.tz).date()

    def staff(self, place: str) -> dict[str, str]:
        return self.w.system.auth("county_staff", place[:6], subject="matrix:seed")

    async def call(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
        r = await self.w.system.client.request(method, url, headers=headers, **kw)
        assert r.status_code in (200, 201), f"seed {method} {url}: {r.status_code} {r.text[:300]}"
        self.w.seed.note_header(r.headers.get("renda-position"))
        return r.json()  # type: ignore[no-any-return]

    async def suggestion(
        self,
        place: str,
        deputies: list[str],
        stage: str = "assigned",
        *,
        lead: str | None = None,
        co: list[str] | None = None,
    ) -> str:
        staff = self.staff(place)
        sid = (
            await self.call(
                "POST",
                S,
                staff,
                json={
                    "title": "修缮村道",
                    "content": "村道破损，建议修缮。",
                    "township": place,
                    "deputy_ids": deputies,
                },
            )
        )["suggestion_id"]
        want = STAGES.index(stage)
        if want >= 1:
            await self.call(
                "POST",
                f"{S}/{sid}/assign",
                staff,
                json={
                    "lead_unit_id": lead or self.w.unit_id,
                    "co_unit_ids": co or [],
                    "responsible_leader": "张副镇长",
                },
            )
        if want >= 2:
            await self.call(
                "POST",
                f"{S}/{sid}/consultations",
                staff,
                json={"held_on": self.today.isoformat(), "mode": "face_to_face", "summary": "当面沟通"},
            )
        if want >= 3:
            body: dict[str, Any] = {"result": "A", "content": "已修缮"}
            if stage == "promised":
                body = {
                    "result": "B",
                    "content": "列入计划",
                    "promised_by": (self.today + timedelta(days=90)).isoformat(),
                    "measures": "明年春季施工",
                }
            await self.call("POST", f"{S}/{sid}/reply", staff, json=body)
        if stage == "unsatisfied":
            deputy = self.w.system.auth("deputy", place, deputy_id=deputies[0], subject="matrix:seed")
            await self.call("POST", f"{S}/{sid}/evaluation", deputy, json={"satisfaction": "unsatisfied"})
        return str(sid)

    async def opinion(self, place: str, deputy: str) -> str:
        return str(
            (
                await self.call(
                    "POST",
                    f"{S}/opinions",
                    self.staff(place),
                    json={
                        "deputy_id": deputy,
                        "township": place,
                        "on": self.today.isoformat(),
                        "place": "村委会",
                        "content": "路灯不亮",
                        "people_count": 5,
                    },
                )
            )["opinion_id"]
        )


STREET_UNIT = "unit-street"  # a county department: a street's suggestion is assigned by county staff


async def register_unit(w: World, unit_id: str, jurisdiction: str) -> None:
    """A unit with a known id, as the operator's tooling registers it (real event through the store)."""
    registered = OrganizerUnitRegistered(
        unit_id=unit_id,
        jurisdiction=jurisdiction,
        name=f"单位{unit_id[-6:]}",
        kind="township_office" if len(jurisdiction) == 9 else "county_department",
        registered_at=datetime.now(UTC),
    )
    await w.seed.append(ORGANIZER_UNIT, unit_id, jurisdiction, [registered])


async def seed(w: World) -> None:
    b = Builder(w)

    async def ref_ready() -> None:  # the suggestions' reference data knows the tree (streets!) and deputies
        r = await w.system.client.get(S, params={"limit": 1}, headers={**w.headers("city_staff"), **w.seed.after})
        assert r.status_code == 200, r.text

    await eventually(ref_ready, timeout=30)
    tw, me, other = w.township, w.deputy_id, w.other_deputy_id
    co_dep = w.store["presidium_members"][3]
    w.store["co_deputy"] = co_dep
    w.store["co_unit"] = co_unit = w.unit_id + "-co"
    street_dep, far_dep = w.store["street_deputy"], w.store["foreign_deputy"]
    far_unit = {r: f"{w.other_unit_id}-{r}" for r in STAFF}
    units = {w.unit_id: tw, w.other_unit_id: tw, co_unit: tw, STREET_UNIT: w.county}
    units |= {far_unit[r]: w.foreign_township(r) for r in STAFF}
    await asyncio.gather(*(register_unit(w, uid, where) for uid, where in units.items()))
    jobs: dict[str, Any] = {
        "read": b.suggestion(tw, [me, co_dep], co=[co_unit]),
        "nodep": b.suggestion(tw, [other], lead=w.other_unit_id),
        "attach": b.suggestion(tw, [me]),
        "consult": b.suggestion(tw, [me]),
        "eval": b.suggestion(tw, [me, co_dep], "replied"),
        "eval_other": b.suggestion(tw, [other], "replied", lead=w.other_unit_id),
        "street_submitted": b.suggestion(w.street, [street_dep], "submitted"),
        "street_assigned": b.suggestion(w.street, [street_dep], lead=STREET_UNIT),
        "street_key": b.suggestion(w.street, [street_dep], lead=STREET_UNIT),
        "op_read": b.opinion(tw, me),
        "merge_probe": b.suggestion(tw, [me], "submitted"),
    }
    for r in STAFF:
        jobs[f"foreign/{r}"] = b.suggestion(w.foreign_township(r), [far_dep[r]], lead=far_unit[r])
        jobs[f"op_foreign/{r}"] = b.opinion(w.foreign_township(r), far_dep[r])
    for r in ASSIGNERS:
        jobs[f"assign/{r}"] = b.suggestion(tw, [me], "submitted")
        jobs[f"extension/{r}"] = b.suggestion(tw, [me])
        jobs[f"key/{r}"] = b.suggestion(tw, [me])
        jobs[f"merge/{r}"] = b.suggestion(tw, [me], "submitted")
        jobs[f"merge_into/{r}"] = b.suggestion(tw, [me], "submitted")
        jobs[f"escalate/{r}"] = b.suggestion(tw, [me])
        jobs[f"justify/{r}"] = b.suggestion(tw, [me], "unsatisfied")
        jobs[f"op_answer/{r}"] = b.opinion(tw, me)
        jobs[f"op_convert/{r}"] = b.opinion(tw, me)
    for r in UNIT_ROLES:
        jobs[f"ack/{r}"] = b.suggestion(tw, [me])
        jobs[f"return/{r}"] = b.suggestion(tw, [me])
        jobs[f"reply/{r}"] = b.suggestion(tw, [me], "consulted")
        jobs[f"impl/{r}"] = b.suggestion(tw, [me], "promised")
    ids = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
    unit = await b.call(
        "POST",
        f"{S}/units",
        b.staff(tw),
        json={
            "jurisdiction": tw,
            "name": "镇交通办",
            "kind": "township_office",
            "head": "李主任",
            "deputy_head": "王副主任",
        },
    )
    attached = await b.call(
        "POST",
        f"{S}/{ids['read']}/attachments",
        b.staff(tw),
        files={"file": ("reply.txt", b"matrix attachment", "text/plain")},
    )
    foreign = {r: ids[f"foreign/{r}"] for r in STAFF}
    outside = {**foreign, "deputy": ids["nodep"], "organizer": ids["nodep"]}
    per = lambda verb, roles: {"inside": {r: ids[f"{verb}/{r}"] for r in roles}, "outside": outside}  # noqa: E731
    w.store.update(
        {
            "s_read": {"inside": ids["read"], "outside": outside},
            "s_attach": {"inside": ids["attach"], "outside": outside},
            "s_consult": {"inside": ids["consult"], "outside": outside},
            "s_eval": {"inside": ids["eval"], "outside": {**outside, "deputy": ids["eval_other"]}},
            "s_assign": per("assign", ASSIGNERS),
            "s_extension": per("extension", ASSIGNERS),
            "s_key": per("key", ASSIGNERS),
            "s_merge": per("merge", ASSIGNERS),
            "s_escalate": per("escalate", ASSIGNERS),
            "s_justify": per("justify", ASSIGNERS),
            "s_ack": per("ack", UNIT_ROLES),
            "s_return": per("return", UNIT_ROLES),
            "s_reply": per("reply", UNIT_ROLES),
            "s_impl": per("impl", UNIT_ROLES),
            "merge_into": {r: ids[f"merge_into/{r}"] for r in ASSIGNERS},
            "street": {k: ids[k] for k in ("street_submitted", "street_assigned", "street_key")},
            "merge_probe": ids["merge_probe"],
            "attachment": attached["attachment_id"],
            "unit": unit["unit_id"],
            "o_read": {"inside": ids["op_read"], "outside": {r: ids[f"op_foreign/{r}"] for r in STAFF}},
            "o_answer": {
                "inside": {r: ids[f"op_answer/{r}"] for r in ASSIGNERS},
                "outside": {r: ids[f"op_foreign/{r}"] for r in STAFF},
            },
            "o_convert": {
                "inside": {r: ids[f"op_convert/{r}"] for r in ASSIGNERS},
                "outside": {r: ids[f"op_foreign/{r}"] for r in STAFF},
            },
        }
    )


# -- probes ---------------------------------------------------------------------------------------
def _on(key: str, method: str, suffix: str = "", body: Any = None, **kw: Any) -> ProbeFn:
    pick = by_role(key)

    def probe(w: World, role: str, where: Where) -> Probe:
        payload = body(w, role) if callable(body) else body
        url = f"{S}/{suffix.format(id=pick(w, role, where), attachment=w.store.get('attachment'))}"
        return Probe(method, url, json=payload, **kw)

    return probe


def _place(w: World, role: str, where: Where) -> str:
    return w.township if where == "inside" else w.foreign_township(role)


def _submit(w: World, role: str, where: Where) -> Probe:
    """Staff name the place; a deputy names the deputies (their own, or someone else's: 403)."""
    deputies = [w.deputy_id] if role != "deputy" or where == "inside" else [w.other_deputy_id]
    township = w.township if role == "deputy" else _place(w, role, where)
    return Probe(
        "POST", S, json={"title": f"建议{w.next()}", "content": "内容", "township": township, "deputy_ids": deputies}
    )


def _record_opinion(w: World, role: str, where: Where) -> Probe:
    deputy = w.deputy_id if role != "deputy" or where == "inside" else w.other_deputy_id
    township = w.township if role == "deputy" else _place(w, role, where)
    return Probe(
        "POST",
        f"{S}/opinions",
        json={
            "deputy_id": deputy,
            "township": township,
            "on": "2025-06-02",
            "place": "村委会",
            "content": "路灯不亮",
            "people_count": 2,
        },
    )


def _new_unit(w: World, role: str, where: Where) -> Probe:
    return Probe(
        "POST",
        f"{S}/units",
        json={
            "jurisdiction": _place(w, role, where),
            "name": f"单位{w.next()}",
            "kind": "township_office",
            "head": "甲",
            "deputy_head": "乙",
        },
    )


def _file(w: World, role: str, where: Where) -> Probe:
    sid = by_role("s_attach")(w, role, where)
    return Probe("POST", f"{S}/{sid}/attachments", files={"file": (f"{role}.txt", b"matrix", "text/plain")})


def _as(role: str, place: Any, **bound: Any) -> Any:
    return lambda w: {"jurisdiction": place(w), **{k: v(w) for k, v in bound.items()}}


def _street(verb: str, key: str, body: dict[str, Any]) -> Any:
    """Street staff may not assign, extend or set key supervision (403); county staff may (200)."""

    def extras(w: World) -> list[Extra]:
        sid = w.store["street"][key]
        probe = lambda w: Probe("POST", f"{S}/{sid}/{verb}", json=body)  # noqa: E731
        return [
            Extra("township_staff", "street staff", probe, 403, bound=_as("township_staff", lambda w: w.street)),
            Extra("county_staff", "county staff on a street's", probe, 200),
        ]

    return extras


def _co_unit_acts(verb: str, body: Any = None) -> Any:
    """A co-unit sees the suggestion but only the lead unit acts (403)."""

    def extras(w: World) -> list[Extra]:
        sid = w.store["s_read"]["inside"]
        return [
            Extra(
                "organizer",
                "co-unit",
                lambda w: Probe("POST", f"{S}/{sid}/{verb}", json=body),
                403,
                bound=lambda w: {"unit_id": w.store["co_unit"]},
            )
        ]

    return extras


def _co_readers(suffix: str) -> Any:
    """A co-submitting deputy and a co-unit read the suggestion (200)."""

    def extras(w: World) -> list[Extra]:
        sid = w.store["s_read"]["inside"]
        url = f"{S}/{suffix.format(id=sid, attachment=w.store['attachment'])}"
        return [
            Extra(
                "deputy",
                "co-submitter",
                lambda w: Probe("GET", url),
                200,
                bound=lambda w: {"deputy_id": w.store["co_deputy"]},
            ),
            Extra(
                "organizer",
                "co-unit",
                lambda w: Probe("GET", url),
                200,
                bound=lambda w: {"unit_id": w.store["co_unit"]},
            ),
        ]

    return extras


def _co_deputy_evaluates(w: World) -> list[Extra]:
    sid = w.store["s_eval"]["inside"]
    return [
        Extra(
            "deputy",
            "co-submitter",
            lambda w: Probe("POST", f"{S}/{sid}/evaluation", json={"satisfaction": "satisfied"}),
            403,
            bound=lambda w: {"deputy_id": w.store["co_deputy"]},
        )
    ]


def _merge_into_foreign(w: World) -> list[Extra]:
    """A foreign target is answered exactly like a missing one: nothing about it leaks."""
    sid = w.store["merge_probe"]
    foreign = w.store["s_read"]["outside"]["township_staff"]

    def probe(into: str) -> Any:
        return lambda w: Probe("POST", f"{S}/{sid}/merge", json={"into_id": into, "reason": "并案"})

    return [
        Extra("township_staff", "into a foreign target", probe(foreign), 422),
        Extra("township_staff", "into a missing target", probe("no-such-suggestion"), 422),
    ]


def _rates_nothing_foreign(w: World, role: str, where: Where, r: httpx.Response) -> None:
    body = r.json()
    if where == "outside":
        assert body["groups"] == [] and body["total"] is None and body["unsatisfied_by_unit"] == [], body
    else:
        assert body["under"] == w.home(role), body["under"]


def _owns_suggestion(w: World, role: str, item: dict[str, Any]) -> bool:
    if role == "deputy":
        return w.deputy_id in item["deputy_ids"]
    return w.unit_id in (item["lead_unit_id"], *item["co_unit_ids"])


def _is(key: str, field: str) -> Any:
    return lambda w, role, item: item[field] == w.store[key]["inside"]


CASES: dict[tuple[str, str], Case] = {
    ("POST", S): Create(_submit),
    ("GET", S): List_(
        list_probe(S, "township"),
        owns=_owns_suggestion,
        shows=_is("s_read", "suggestion_id"),
    ),
    ("GET", f"{S}/public"): Public(lambda w, role, where: Probe("GET", f"{S}/public", params={"under": w.township})),
    ("GET", f"{S}/rates"): List_(
        list_probe(f"{S}/rates"),
        items_key="groups",
        jurisdiction_of=lambda i: i["key"],
        validate=_rates_nothing_foreign,
    ),
    ("GET", f"{S}/{{suggestion_id}}"): Record(_on("s_read", "GET", "{id}"), extras=_co_readers("{id}")),
    ("GET", f"{S}/{{suggestion_id}}/history"): Record(_on("s_read", "GET", "{id}/history")),
    ("POST", f"{S}/{{suggestion_id}}/assign"): Record(
        _on("s_assign", "POST", "{id}/assign", lambda w, role: {"lead_unit_id": w.unit_id, "responsible_leader": "甲"}),
        extras=_street("assign", "street_submitted", {"lead_unit_id": STREET_UNIT, "responsible_leader": "甲"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/acknowledge"): Record(
        _on("s_ack", "POST", "{id}/acknowledge"), extras=_co_unit_acts("acknowledge")
    ),
    ("POST", f"{S}/{{suggestion_id}}/return"): Record(
        _on("s_return", "POST", "{id}/return", {"reason": "不属于本单位职责"}),
        extras=_co_unit_acts("return", {"reason": "协办单位退办"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/consultations"): Record(
        _on(
            "s_consult",
            "POST",
            "{id}/consultations",
            lambda w, role: {
                "held_on": datetime.now(w.system.settings.tz).date().isoformat(),
                "mode": "phone",
                "summary": "电话沟通",
            },
        ),
        201,
        extras=_co_unit_acts("consultations", {"held_on": "2025-06-02", "mode": "phone", "summary": "协办"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/reply"): Record(
        _on("s_reply", "POST", "{id}/reply", {"result": "A", "content": "已解决"}),
        extras=_co_unit_acts("reply", {"result": "A", "content": "协办答复"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/implementation"): Record(
        _on(
            "s_impl",
            "POST",
            "{id}/implementation",
            lambda w, role: {
                "carried_out_on": datetime.now(w.system.settings.tz).date().isoformat(),
                "summary": "已施工",
            },
        )
    ),
    ("POST", f"{S}/{{suggestion_id}}/evaluation"): Record(
        _on("s_eval", "POST", "{id}/evaluation", {"satisfaction": "satisfied"}), extras=_co_deputy_evaluates
    ),
    ("POST", f"{S}/{{suggestion_id}}/extension"): Record(
        _on("s_extension", "POST", "{id}/extension", {"new_due_at": "2030-01-01T17:00:00+08:00", "reason": "复杂"}),
        extras=_street("extension", "street_assigned", {"new_due_at": "2030-01-01T17:00:00+08:00", "reason": "复杂"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/key-supervision"): Record(
        _on("s_key", "POST", "{id}/key-supervision", {"reason": "群众关注"}),
        extras=_street("key-supervision", "street_key", {"reason": "群众关注"}),
    ),
    ("POST", f"{S}/{{suggestion_id}}/merge"): Record(
        _on(
            "s_merge",
            "POST",
            "{id}/merge",
            lambda w, role: {"into_id": w.store["merge_into"].get(role, "x"), "reason": "内容相同"},
        ),
        extras=_merge_into_foreign,
    ),
    ("POST", f"{S}/{{suggestion_id}}/escalate"): Record(
        _on("s_escalate", "POST", "{id}/escalate", {"reason": "需县级统筹"})
    ),
    ("POST", f"{S}/{{suggestion_id}}/unsatisfied-justified"): Record(
        _on("s_justify", "POST", "{id}/unsatisfied-justified", {"reason": "政策限制"})
    ),
    ("POST", f"{S}/{{suggestion_id}}/attachments"): Record(_file, 201),
    ("GET", f"{S}/{{suggestion_id}}/attachments/{{attachment_id}}"): Record(
        _on("s_read", "GET", "{id}/attachments/{attachment}"), extras=_co_readers("{id}/attachments/{attachment}")
    ),
    # organizer units
    ("POST", f"{S}/units"): Create(_new_unit),
    ("GET", f"{S}/units"): List_(list_probe(f"{S}/units"), shows=lambda w, role, i: i["unit_id"] == w.store["unit"]),
    # constituents' opinions
    ("POST", f"{S}/opinions"): Create(_record_opinion),
    ("GET", f"{S}/opinions"): List_(
        list_probe(f"{S}/opinions", "township"),
        owns=lambda w, role, i: i["deputy_id"] == w.deputy_id,
        shows=_is("o_read", "opinion_id"),
        shown_to=("city_staff", "county_staff", "township_staff", "deputy"),
    ),
    ("POST", f"{S}/opinions/{{opinion_id}}/answer"): Record(
        _on("o_answer", "POST", "opinions/{id}/answer", {"content": "已转相关部门"})
    ),
    ("POST", f"{S}/opinions/{{opinion_id}}/convert"): Record(
        _on("o_convert", "POST", "opinions/{id}/convert", {"title": "群众意见转建议"}), 201
    ),
}
