"""A seeded history replays into the services' read models, and their figures are the rule book's:
one township's rates and meeting compliance are recounted here from its stored events and compared
with ``/api/suggestions/rates`` and ``/api/meetings/compliance`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from libs.runtime.nats_server import EmbeddedNats
from tests.seed.support import seed_into, stored
from tests.support.system import running_system
from tests.support.waiting import eventually

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
TOWN = "340403001"  # the first township of the tiny scale (two sessions a year)
WEAK = "340403002"  # the township that holds only one session a year


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(TZ)


def rate(n: int, d: int) -> dict[str, Any]:
    return {"rate": n / d if d else None, "numerator": n, "denominator": d}


def recount_rates(bodies: list[dict[str, Any]], today: date) -> dict[str, dict[str, Any]]:
    """domain.md "Exact definitions", counted by hand over the township's suggestion events."""
    replies = [b["data"] for b in bodies if b["type"] == "SuggestionReplied"]
    replies = [r for r in replies if local(r["replied_at"]).year == YEAR]
    evaluations = [b["data"] for b in bodies if b["type"] == "SatisfactionEvaluated"]
    evaluations = [e for e in evaluations if local(e["evaluated_at"]).year == YEAR]
    kept = {
        (b["data"]["suggestion_id"], b["data"]["round"])
        for b in bodies
        if b["type"] == "PromiseCarriedOut" and date.fromisoformat(b["data"]["carried_out_on"]) <= today
    }
    latest: dict[str, dict[str, Any]] = {}
    for r in replies:
        seen = latest.get(r["suggestion_id"])
        if seen is None or (local(r["replied_at"]), r["round"]) > (local(seen["replied_at"]), seen["round"]):
            latest[r["suggestion_id"]] = r
    resolved = sum(
        1
        for r in latest.values()
        if r["result"] == "A" or (r["result"] == "B" and (r["suggestion_id"], r["round"]) in kept)
    )
    return {
        "consultation_rate": rate(sum(1 for r in replies if r["consultation_modes"]), len(replies)),
        "face_to_face_rate": rate(sum(1 for r in replies if "face_to_face" in r["consultation_modes"]), len(replies)),
        "satisfaction_rate": rate(sum(1 for e in evaluations if e["satisfaction"] != "unsatisfied"), len(evaluations)),
        "resolution_rate": rate(resolved, len(latest)),
    }


def held(bodies: list[dict[str, Any]], kind: str) -> list[datetime]:
    """Start times of the meetings of ``kind`` that were convened (held), in YEAR."""
    starts = {
        b["aggregate_id"]: local(b["data"]["starts_at"])
        for b in bodies
        if b["type"] == "MeetingScheduled" and b["data"]["kind"] == kind
    }
    convened = {b["aggregate_id"] for b in bodies if b["type"] == "MeetingConvened"}
    return sorted(t for m, t in starts.items() if m in convened and t.year == YEAR)


async def test_seeded_figures_are_the_rule_books(fresh_nats: EmbeddedNats, settings_for, database_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(fresh_nats.url, database_url)
    summary = await seed_into(fresh_nats.url, settings.data_dir, seed_value=3)
    assert summary.refused == []
    by_subject = await stored(fresh_nats.url)
    town_suggestions = [
        b for s, envs in by_subject.items() if s.startswith(f"renda.suggestions.3404.340403.{TOWN}.") for b in envs
    ]
    meetings = {
        code: [b for s, envs in by_subject.items() if s.startswith(f"renda.meetings.3404.340403.{code}.") for b in envs]
        for code in (TOWN, WEAK)
    }
    today = datetime.now(UTC).astimezone(TZ).date()
    expected = recount_rates(town_suggestions, today)
    assert expected["satisfaction_rate"]["denominator"] > 0 and expected["consultation_rate"]["denominator"] > 0
    sessions = {code: held(meetings[code], "congress_session") for code in (TOWN, WEAK)}
    assert (len(sessions[TOWN]), len(sessions[WEAK])) == (2, 1)
    quarters = Counter((t.month - 1) // 3 for t in held(meetings[TOWN], "presidium_meeting"))
    convened = {b["aggregate_id"] for b in meetings[TOWN] if b["type"] == "MeetingConvened"}
    groups = Counter(
        b["data"]["group_id"]
        for b in meetings[TOWN]
        if b["type"] == "MeetingScheduled" and b["data"]["kind"] == "group_activity" and b["aggregate_id"] in convened
    )
    assert len(groups) >= 4

    async with running_system(settings) as system:
        staff = system.auth("county_staff", "340403")

        async def rates_match() -> None:
            r = await system.client.get("/api/suggestions/rates", params={"under": TOWN, "year": YEAR}, headers=staff)
            assert r.status_code == 200, r.text
            [town] = [g for g in r.json()["groups"] if g["key"] == TOWN]
            got = {k: town["rates"][k] for k in expected}
            assert got == expected

        async def compliance_matches() -> None:
            r = await system.client.get(
                "/api/meetings/compliance", params={"year": YEAR, "under": "340403"}, headers=staff
            )
            assert r.status_code == 200, r.text
            items = {i["township"]: i for i in r.json()["items"]}
            assert items[TOWN]["sessions"]["held"] == 2
            assert items[WEAK]["sessions"]["held"] == 1
            assert items[TOWN]["presidium_meetings"]["per_quarter"] == [quarters[q] for q in range(4)]
            assert {g["group_id"]: g["held"] for g in items[TOWN]["group_activities"]} == dict(groups)

        await eventually(rates_match, timeout=60, interval=0.5)
        await eventually(compliance_matches, timeout=60, interval=0.5)
