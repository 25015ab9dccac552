"""Node faults under load on the local production topology (deploy/local_cluster.py).

Commands flow over HTTP through the gateway, each with an ``Idempotency-Key``; meanwhile the
suggestions stream's leader is SIGKILLed and brought back, or a follower is SIGSTOPped for 5 s.
Each request is classified ok / failed / unknown (no answer, or a 5xx); the unknown are retried
with their key. Then: every acknowledged command's event is in the stream exactly once, nothing
is doubled, nothing refused got stored, the read model converges, ``renda audit verify`` is clean.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS

from deploy.local_cluster import BIN, LocalCluster, running
from libs.auth.actor import Principal
from libs.auth.tokens import issue
from libs.events import jetstream as jsapi
from libs.events.envelope import decode_raw
from libs.events.subjects import stream_name
from libs.runtime.nats_server import free_port
from services.notify.sender import SMTP_CONNECTIONS
from tests.support.waiting import eventually

pytestmark = pytest.mark.cluster
REQUESTS = 120  # per fault, in three thirds: before, during and after it
CONCURRENCY = 6
STREAM = stream_name("suggestions")


class Mailbox:
    """An SMTP sink on loopback (aiosmtpd): every message the notify instances send."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        self.messages.append(message_from_bytes(content, policy=email_policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[Mailbox, int]) -> Iterator[LocalCluster]:
    # The services these faults exercise: deputies (places, deputies, auth), suggestions and notify (two each).
    with running(
        tmp_path_factory.mktemp("local"),
        services=["deputies", "suggestions", "notify"],
        # a delivery leased by a killed notify instance is taken over after 10 s (default 60 s)
        env={"RENDA_SMTP_URL": f"smtp://127.0.0.1:{mailbox[1]}", "RENDA_NOTIFY_LEASE": "10"},
    ) as c:
        yield c


@dataclass
class Place:
    township: str
    deputy: str
    staff: dict[str, str] = field(default_factory=dict)


def _auth(c: LocalCluster, role: str, jurisdiction: str, **kw: str) -> dict[str, str]:
    p = Principal(subject=f"fault:{role}", role=role, jurisdiction=jurisdiction, **kw)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {issue(p, c.jwt_secret, timedelta(hours=1))}"}


@pytest.fixture(scope="module")
async def client(local: LocalCluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local.base_url, timeout=20) as c:
        yield c


@pytest.fixture(scope="module")
async def admin(local: LocalCluster) -> AsyncIterator[NATS]:
    assert local.nats.tls is not None
    tls = ssl.create_default_context(cafile=str(local.nats.tls.ca))
    nc = await nats.connect(servers=local.nats.url("renda").split(","), tls=tls, max_reconnect_attempts=-1)
    yield nc
    await nc.close()


@pytest.fixture(scope="module")
async def place(local: LocalCluster, client: httpx.AsyncClient) -> Place:
    city = f"8{uuid.uuid4().int % 900 + 100}"
    county, township = f"{city}01", f"{city}01001"
    top = _auth(local, "city_staff", city[:2])
    after = []
    for code, kind, parent in [(city, "city", None), (county, "county", city), (township, "township", county)]:
        r = await client.post(
            "/api/deputies/jurisdictions", json={"code": code, "name": f"故障{kind}", "kind": kind, "parent": parent},
            headers=top,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        after.append(r.headers["renda-position"])
    staff = _auth(local, "township_staff", township)
    body = {"name": "张桂英", "gender": "female", "level": "township", "congress": township, "township": township,
            "constituency": "第一选区", "term": 18}  # fmt: skip
    r = await client.post("/api/deputies", json=body, headers={**staff, "Renda-After": ",".join(after)})
    assert r.status_code == 201, r.text
    p = Place(township, r.json()["deputy_id"], staff)
    # the suggestions service has the deputy in its reference read model once one submit passes
    first = await _submit(client, p, "预热", str(uuid.uuid4()), {"Renda-After": r.headers["renda-position"]})
    assert first.kind == "ok", first
    return p


@dataclass
class Answer:
    kind: str  # ok | failed | unknown
    status: int = 0
    suggestion_id: str | None = None


async def _submit(
    client: httpx.AsyncClient, p: Place, title: str, key: str, extra: dict[str, str] | None = None
) -> Answer:
    body = {"title": title, "content": "故障测试：村道破损。", "township": p.township, "deputy_ids": [p.deputy],
            "category": "交通", "submitted_during": "recess"}  # fmt: skip
    try:
        r = await client.post(
            "/api/suggestions", json=body, headers={**p.staff, "Idempotency-Key": key, **(extra or {})}
        )
    except httpx.HTTPError:
        return Answer("unknown")
    if r.status_code == 201:
        return Answer("ok", 201, r.json()["suggestion_id"])
    if r.status_code >= 500 or r.status_code in (408, 429):
        return Answer("unknown", r.status_code)
    return Answer("failed", r.status_code)


@dataclass
class Run:
    name: str
    sent: int = 0
    first: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)  # first answers' HTTP status, 0 = none
    final: dict[str, Answer] = field(default_factory=dict)  # title -> last answer
    keys: dict[str, str] = field(default_factory=dict)  # title -> idempotency key


async def _load(client: httpx.AsyncClient, p: Place, run: Run, start: int, count: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        title = f"{run.name}-{i:04d}"
        run.keys[title] = str(uuid.uuid4())
        async with gate:
            run.sent += 1
            a = await _submit(client, p, title, run.keys[title])
        run.first[a.kind] += 1
        run.statuses[a.status] += 1
        run.final[title] = a

    await asyncio.gather(*(one(i) for i in range(start, start + count)))


async def _retry_unknown(client: httpx.AsyncClient, p: Place, run: Run) -> None:
    for _ in range(30):
        unknown = [t for t, a in run.final.items() if a.kind == "unknown"]
        if not unknown:
            return
        for title in unknown:
            run.sent += 1
            run.final[title] = await _submit(client, p, title, run.keys[title])
        await asyncio.sleep(1)


async def _submitted(admin: NATS) -> dict[str, list[str]]:
    """title -> suggestion ids of every SuggestionSubmitted in the stream (read as the operator)."""
    last = await jsapi.last_seq(admin, STREAM)
    out: dict[str, list[str]] = {}
    for seq in range(1, last + 1):
        m = await jsapi.direct_get_seq(admin, STREAM, seq)
        assert m is not None, f"{STREAM} lost sequence {seq}"
        body = decode_raw(m.data)
        if body["type"] == "SuggestionSubmitted":
            out.setdefault(body["data"]["title"], []).append(body["aggregate_id"])
    return out


async def _listed(client: httpx.AsyncClient, p: Place) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"township": p.township, "limit": 500, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/suggestions", params=params, headers=p.staff)
        assert r.status_code == 200, r.text
        ids |= {s["suggestion_id"] for s in r.json()["items"]}
        cursor = r.json()["next_cursor"]
        if not cursor:
            return ids


async def _leader(admin: NATS) -> tuple[str, list[str]]:
    info = await jsapi.stream_info(admin, STREAM)
    return info["cluster"]["leader"], [r["name"] for r in info["cluster"].get("replicas", [])]


async def _fault_run(
    local: LocalCluster, client: httpx.AsyncClient, admin: NATS, p: Place, name: str,
    fault: Callable[[], Awaitable[None]],
) -> Run:  # fmt: skip
    run = Run(name)
    third = REQUESTS // 3
    await _load(client, p, run, 0, third)
    await asyncio.gather(fault(), _load(client, p, run, third, REQUESTS - 2 * third))
    await _load(client, p, run, REQUESTS - third, third)
    unknown_first = run.first["unknown"]
    await _retry_unknown(client, p, run)

    stored = await _submitted(admin)
    mine = {t: ids for t, ids in stored.items() if t.startswith(f"{name}-")}
    acked = {t: a for t, a in run.final.items() if a.kind == "ok"}
    failed = {t: a for t, a in run.final.items() if a.kind == "failed"}
    doubled = {t: ids for t, ids in mine.items() if len(ids) > 1}
    figures = {
        "fault": name, "requests_sent": run.sent, "commands": REQUESTS, "acknowledged_first_try": run.first["ok"],
        "failed": run.first["failed"], "unknown": unknown_first, "acknowledged_after_retry": len(acked),
        "events_found": sum(len(v) for v in mine.values()), "duplicates": len(doubled),
        "first_statuses": dict(run.statuses),
    }  # fmt: skip
    print("\nnode-fault figures:", json.dumps(figures))
    (local.folder / f"figures-{name}.json").write_text(json.dumps(figures))
    assert not doubled, doubled
    assert [t for t, a in run.final.items() if a.kind == "unknown"] == []  # every retry got an answer
    for title, a in acked.items():
        assert mine.get(title) == [a.suggestion_id], (title, a, mine.get(title))
    for title in failed:
        assert title not in mine, (title, failed[title])
    assert set(mine) == set(acked)  # nothing stored that was not acknowledged in the end

    want = {ids[0] for t, ids in stored.items() if t.startswith(f"{name}-")}

    async def converged() -> None:
        assert want <= await _listed(client, p)

    await eventually(converged, timeout=90, interval=0.5)
    return run


def _audit_verify(local: LocalCluster) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "renda"), "audit", "verify"], env=local.env("renda", local.folder / "operator"),
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


async def test_sigkill_of_the_stream_leader_under_load_loses_and_doubles_nothing(
    local: LocalCluster, client: httpx.AsyncClient, admin: NATS, place: Place
) -> None:
    async def kill_leader_and_bring_it_back() -> None:
        leader, _ = await _leader(admin)
        local.nats.kill(leader)
        await asyncio.sleep(3)  # writes go on against the two others meanwhile
        await asyncio.to_thread(local.nats.restart, leader)

        async def caught_up() -> None:  # the last third runs on a healed cluster
            try:
                info = await jsapi.stream_info(admin, STREAM)
            except Exception as exc:
                raise AssertionError(f"no stream info yet: {exc}") from exc
            assert info["cluster"].get("leader")
            assert all(r["current"] for r in info["cluster"].get("replicas", []))

        await eventually(caught_up, timeout=60, interval=0.5)

    run = await _fault_run(local, client, admin, place, "kill", kill_leader_and_bring_it_back)
    assert sum(a.kind == "ok" for a in run.final.values()) > 0
    audit = await asyncio.to_thread(_audit_verify, local)
    assert audit.returncode == 0, audit.stdout + audit.stderr


async def test_sigstop_of_a_follower_for_five_seconds_loses_and_doubles_nothing(
    local: LocalCluster, client: httpx.AsyncClient, admin: NATS, place: Place
) -> None:
    async def pause_a_follower() -> None:
        _, followers = await _leader(admin)
        local.nats.pause(followers[0])
        try:
            await asyncio.sleep(5)
        finally:
            local.nats.resume(followers[0])

    run = await _fault_run(local, client, admin, place, "stop", pause_a_follower)
    assert sum(a.kind == "ok" for a in run.final.values()) > 0
    assert Path(local.folder).exists()


async def test_sigkill_of_one_of_two_suggestions_instances_under_load_doubles_nothing(
    local: LocalCluster, client: httpx.AsyncClient, admin: NATS, place: Place
) -> None:
    victim = local.instance("suggestions-1")

    async def kill_an_instance_and_restart_it() -> None:
        assert victim.process is not None
        victim.process.kill()  # mid-request: its answers in flight are cut off (unknown)
        await asyncio.to_thread(victim.process.wait)
        await asyncio.sleep(2)  # the gateway sends everything to suggestions-2 meanwhile
        local.start_instance(victim)
        await asyncio.to_thread(local.wait_ready, victim)

    run = await _fault_run(local, client, admin, place, "instance", kill_an_instance_and_restart_it)
    assert sum(a.kind == "ok" for a in run.final.values()) == REQUESTS


async def test_a_state_read_from_a_lagging_replica_cannot_append_over_newer_events(
    local: LocalCluster, admin: NATS
) -> None:
    """Direct Get may be answered by any replica, a lagging one too: the leader's guard decides.

    A reader connected only to a follower's node gets its Direct Gets answered there (NATS prefers
    a local queue subscriber). The follower is stopped while another writer appends, then resumed,
    and the reader loads and appends at once: whatever state it read (stale or caught up), the
    append either lands on the newest event or is refused as a concurrency conflict — the chain
    never forks.
    """
    from libs.events.envelope import verify_chain
    from libs.events.errors import ConcurrencyConflict
    from libs.events.store import EventStore
    from tests.events.fixtures_domain import COUNTER, JURISDICTION, CounterIncremented, CounterOpened, meta, new_id

    stream = stream_name("notify")
    info = await jsapi.stream_info(admin, stream)
    follower = local.nats.node(info["cluster"]["replicas"][0]["name"])
    assert local.nats.tls is not None
    tls = ssl.create_default_context(cafile=str(local.nats.tls.ca))
    pw = local.nats.passwords["renda"]
    others = [f"tls://renda:{pw}@127.0.0.1:{n.client_port}" for n in local.nats.nodes if n is not follower]
    far = await nats.connect(servers=others, tls=tls, max_reconnect_attempts=-1)  # never the paused node
    near = await nats.connect(f"tls://renda:{pw}@127.0.0.1:{follower.client_port}", tls=tls, max_reconnect_attempts=-1)
    writer = EventStore(far)
    cid = new_id()  # the writer's appends go to the leader; only the reader asks the lagging follower
    opened = await writer.load(COUNTER, cid, JURISDICTION)
    await writer.append(opened, [CounterOpened(counter_id=cid, label="r3")], meta())
    outcomes = Counter[str]()
    try:
        for n in range(5):
            more = [CounterIncremented(counter_id=cid, by=1, note=f"w{n}")]
            for attempt in range(50):
                # the writer reads with all three nodes up (a paused replica's Direct Gets time out), and
                # reads again when the state it got was stale (the follower that had just resumed)
                fresh = await EventStore(far).load(COUNTER, cid, JURISDICTION)
                local.nats.pause(follower.name)
                try:  # an append goes to the leader alone (no Direct Get), which the two running nodes have
                    await EventStore(far).append(fresh, more, meta())
                    break
                except ConcurrencyConflict:
                    assert attempt < 49, "the writer never read the newest state"
                finally:
                    local.nats.resume(follower.name)
                await asyncio.sleep(0.1)
            reader = EventStore(near)  # nothing cached: it reads what the follower answers
            loaded = await reader.load(COUNTER, cid, JURISDICTION)
            try:
                await reader.append(loaded, [CounterIncremented(counter_id=cid, by=10, note=f"r{n}")], meta())
                outcomes["appended"] += 1
            except ConcurrencyConflict:
                outcomes["refused_stale"] += 1
    finally:
        await near.close()
        await far.close()
    bodies = []
    for seq in range(1, await jsapi.last_seq(admin, stream) + 1):
        m = await jsapi.direct_get_seq(admin, stream, seq)
        if m is not None and decode_raw(m.data)["aggregate_id"] == cid:
            bodies.append(decode_raw(m.data))
    print("\nlagging-replica reads:", dict(outcomes))
    assert sum(outcomes.values()) == 5
    assert [b["sequence"] for b in bodies] == list(range(1, len(bodies) + 1))  # no two events at one sequence
    assert verify_chain(bodies) == []
    assert len(bodies) == 1 + 5 + outcomes["appended"]


async def test_sigkill_of_one_of_two_notify_instances_mails_every_notice_and_records_it_once(
    local: LocalCluster, client: httpx.AsyncClient, admin: NATS, place: Place, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    r = await client.post(
        "/api/suggestions/units",
        json={"jurisdiction": place.township, "name": "镇财政所", "kind": "station", "email": "caizheng@example.test"},
        headers=place.staff,
    )
    assert r.status_code == 201, r.text
    unit = r.json()["unit_id"]
    after = {"Renda-After": r.headers["renda-position"]}
    ids = []
    for i in range(30):
        a = await _submit(client, place, f"notify-{i:03d}", str(uuid.uuid4()))
        assert a.kind == "ok", a
        ids.append(a.suggestion_id)
    victim = local.instance("notify-1")

    async def assign(sid: str) -> None:
        body = {"lead_unit_id": unit, "co_unit_ids": [], "complexity": "normal", "responsible_leader": "王所长"}
        headers = {**place.staff, "Idempotency-Key": f"assign-{sid}", **after}
        for _ in range(10):
            try:
                r = await client.post(f"/api/suggestions/{sid}/assign", json=body, headers=headers)
            except httpx.HTTPError:
                continue
            if r.status_code < 500:
                assert r.status_code in (200, 201), r.text
                return
        raise AssertionError(f"assign {sid} got no answer")

    await asyncio.gather(*(assign(s) for s in ids[:15]))
    assert victim.process is not None
    victim.process.kill()  # while its consumer and sender are busy with the first assignments
    await asyncio.to_thread(victim.process.wait)
    await asyncio.gather(*(assign(s) for s in ids[15:]))
    local.start_instance(victim)
    await asyncio.to_thread(local.wait_ready, victim)

    unit_auth = _auth(local, "organizer", place.township, unit_id=unit)

    async def inbox_complete() -> list[dict[str, object]]:
        r = await client.get("/api/notify/inbox", params={"limit": 500}, headers=unit_auth)
        assert r.status_code == 200, r.text
        items = [i for i in r.json()["items"] if i["kind"] == "assigned"]
        assert len({i["source_event_id"] for i in items}) == len(ids), len(items)
        return items

    items = await eventually(inbox_complete, timeout=90, interval=0.5)

    def sent() -> list[str]:
        return [str(m["Message-ID"]) for m in box.messages if "caizheng@example.test" in str(m["To"])]

    async def email_notices() -> Counter[str]:
        last = await jsapi.last_seq(admin, stream_name("notify"))
        notices = Counter[str]()
        for seq in range(1, last + 1):
            m = await jsapi.direct_get_seq(admin, stream_name("notify"), seq)
            body = decode_raw(m.data) if m is not None else {}
            if body.get("type") == "NotificationSent" and body["data"]["channel"] == "email":
                notices[body["data"]["notification_id"]] += 1
        return notices

    async def mailed_and_recorded() -> Counter[str]:
        assert len(set(sent())) == len(ids), len(set(sent()))
        notices = await email_notices()
        assert len(notices) == len(ids), len(notices)
        return notices

    notices = await eventually(mailed_and_recorded, timeout=90, interval=0.5)
    copies = Counter(sent())
    figures = {"assignments": len(ids), "inbox_items": len(items), "emails": len(sent()),
               "distinct_emails": len(copies), "sent_events": sum(notices.values())}  # fmt: skip
    print("\nnotify instance kill:", json.dumps(figures))
    assert len(items) == len(ids)  # one inbox item per assignment, none doubled
    assert all(n == 1 for n in notices.values()), notices  # one NotificationSent per notice
    assert set(copies) == {f"<{n}@renda>" for n in notices}  # every mail is one of those notices
    # The one window no outbox closes (docs/notify.md, "Exactly once"): a mail the SMTP server had
    # accepted and the killed instance had not yet recorded goes again after the lease, with the
    # same Message-ID, so a mail system drops it. At most one such mail per connection of the
    # killed instance; every other notice is mailed exactly once.
    assert len(sent()) - len(copies) <= SMTP_CONNECTIONS, copies.most_common(5)
