"""A chain nobody can forge or shorten: signed chain heads, anchors in the read-model database, key rotation.

Each tamper is done the way an attacker or a storage fault would (straight to NATS, a restored
older copy of the JetStream store, messages deleted by an administrator) and must be reported with
its place: stream, stream sequence, aggregate, and what was expected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nats
import orjson
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.anchors import Anchors, AnchorSet, anchor_projection, read_anchors
from libs.events.envelope import chain_hash, hashed_part
from libs.events.keys import Keyring, Signer, load_signer
from libs.events.projection import ProjectionRunner
from libs.events.store import EventStore
from libs.events.streams import ensure_streams, stream_config
from libs.events.subjects import aggregate_subject
from libs.events.verify import AuditReport, verify_all
from libs.runtime.nats_server import EmbeddedNats
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    CounterIncremented,
    CounterOpened,
    meta,
    new_id,
)
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")
SERVICE = "notify"


async def write(store: EventStore, counters: int = 2, increments: int = 2) -> list[str]:
    """Counters opened and incremented; every other one by a two-event command (one signature for both)."""
    ids = []
    for k in range(counters):
        cid = new_id()
        events = [CounterOpened(counter_id=cid, label=f"计数{k}")]
        if k % 2:
            events.append(CounterIncremented(counter_id=cid, by=1))
        done = await store.append(await store.load(COUNTER, cid, JURISDICTION), events, meta())
        for i in range(increments):
            done = await store.append(done.loaded, [CounterIncremented(counter_id=cid, by=i)], meta())
        ids.append(cid)
    return ids


async def anchored(nc: NATS, engine: AsyncEngine, signer: Signer, keyring: Keyring) -> Anchors:
    """Run the context's anchor projection until it has read the whole stream (an anchor per batch)."""
    projection = anchor_projection(CONTEXT, signer, keyring, every=1, interval=0.0)
    runner = ProjectionRunner(nc, engine, projection, batch=7)
    head = await jsapi.last_seq(nc, STREAM)
    await runner.start()
    try:

        async def caught_up() -> None:
            assert runner.positions.get(STREAM) == head

        await eventually(caught_up, timeout=30)
    finally:
        await runner.stop()
    return projection


async def verify(nc: NATS, keyring: Keyring, engine: AsyncEngine | None = None) -> AuditReport:
    anchors = await read_anchors(engine, CONTEXT) if engine is not None else AnchorSet([], [])
    return await verify_all(nc, (CONTEXT,), keyring=keyring, anchors=anchors)


def subject_of(cid: str) -> str:
    return aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)


async def last_body(nc: NATS, cid: str) -> dict:
    got = await jsapi.direct_get_last(nc, STREAM, subject_of(cid))
    assert got is not None
    return orjson.loads(got.data)  # type: ignore[no-any-return]


def has(report: AuditReport, *parts: str) -> bool:
    return any(all(p in b for p in parts) for b in report.breaks)


async def test_two_key_ids_verify_after_rotation_and_an_unknown_key_does_not(js: NATS, tmp_path: Path) -> None:
    first = load_signer(SERVICE, tmp_path)
    old = await write(EventStore(js, signer=first), counters=2)
    (tmp_path / "keys" / f"{SERVICE}.key").unlink()  # rotation: the next start makes a new key
    second = load_signer(SERVICE, tmp_path)
    assert second.key_id != first.key_id
    store = EventStore(js, signer=second)
    new = await write(store, counters=1)
    report = await verify(js, Keyring.gather(tmp_path))
    assert report.ok, report.breaks
    assert report.signatures == 3
    key_ids = {(await last_body(js, cid))["key_id"] for cid in old + new}
    assert key_ids == {first.key_id, second.key_id}
    only_new = Keyring()
    only_new.add_signer(second)
    report = await verify(js, only_new)
    assert has(report, subject_of(old[0]), f"unknown key {first.key_id}")
    assert not has(report, subject_of(new[0]))


async def test_a_forged_event_with_a_valid_chain_but_no_valid_signature_is_reported_and_flagged(
    js: NATS, tmp_path: Path
) -> None:
    signer = load_signer(SERVICE, tmp_path)
    keyring = Keyring.gather(tmp_path)
    store = EventStore(js, signer=signer)
    signed_by_other, unsigned = await write(store, counters=2)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    try:
        await anchored(js, engine, signer, keyring)
        intruder = load_signer("intruder", tmp_path / "elsewhere")  # a key no service has
        forged_at = {}
        for cid, sign_with in ((signed_by_other, intruder), (unsigned, None)):
            last = await last_body(js, cid)
            body = {k: v for k, v in last.items() if k != "sig"}
            body.update(id=new_id(), sequence=last["sequence"] + 1, prev_hash=last["hash"], causation_id=new_id())
            body["data"] = {**last["data"], "by": 1_000_000}
            if sign_with is not None:
                body["key_id"] = sign_with.key_id
            body["hash"] = chain_hash(hashed_part(body))  # a valid SHA-256 chain
            if sign_with is not None:
                body["sig"] = sign_with.sign(body["hash"])
            ack = await jsapi.publish(js, subject_of(cid), orjson.dumps(body), {"Nats-Msg-Id": body["id"]})
            forged_at[cid] = (ack.seq, body["sequence"])
        # A genuine command on top of the unsigned forgery must not vouch for it.
        await store.execute(COUNTER, unsigned, lambda _s: [CounterIncremented(counter_id=unsigned, by=2)], meta())
        report = await verify(js, keyring, engine)
        seq, n = forged_at[signed_by_other]
        assert has(report, subject_of(signed_by_other), f"#{n}", f"stream seq {seq}", "unknown key"), report.breaks
        seq, n = forged_at[unsigned]
        assert has(report, subject_of(unsigned), f"#{n}", f"stream seq {seq}", "not of its command"), report.breaks
        # The read models' anchor projection flags both (readyz shows its health, metrics count them).
        projection = await anchored(js, engine, signer, keyring)
        reasons = " | ".join(f["reason"] + f["subject"] for f in projection.flags)
        assert projection.flagged == 2, reasons
        assert "unknown key" in reasons and "not of its command" in reasons
    finally:
        await engine.dispose()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RENDA, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def cli_verify(nats_url: str, data_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RENDA_NATS_URL": nats_url,
        "RENDA_DATA_DIR": str(data_dir),
        "RENDA_DATABASE_URL": database_url,
    }
    return subprocess.run([RENDA, "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_a_store_restored_from_an_older_copy_is_reported_as_a_lost_tail(
    fresh_nats: EmbeddedNats, tmp_path: Path
) -> None:
    signer = load_signer(SERVICE, tmp_path)
    keyring = Keyring.gather(tmp_path)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}"
    engine = make_engine(database_url)
    backup = tmp_path / "backup"
    try:
        nc = await nats.connect(fresh_nats.url)
        await ensure_streams(nc, 1, create_missing=True)
        await write(EventStore(nc, signer=signer), counters=2)
        await nc.drain()
        fresh_nats.stop()
        shutil.copytree(fresh_nats.data_dir, backup)  # the "backup" a storage fault falls back to
        fresh_nats.start()
        nc = await nats.connect(fresh_nats.url)
        kept_head = await jsapi.last_seq(nc, STREAM)
        (lost,) = await write(EventStore(nc, signer=signer), counters=1, increments=3)
        head = await jsapi.last_seq(nc, STREAM)
        await anchored(nc, engine, signer, keyring)
        assert (await verify(nc, keyring, engine)).ok
        await nc.drain()
        fresh_nats.stop()
        shutil.rmtree(fresh_nats.data_dir)
        shutil.copytree(backup, fresh_nats.data_dir)
        fresh_nats.start()
        nc = await nats.connect(fresh_nats.url)
        try:
            assert await jsapi.last_seq(nc, STREAM) == kept_head
            report = await verify(nc, keyring, engine)  # the chains alone are intact: only anchors tell
            assert (await verify_all(nc, (CONTEXT,), keyring=keyring)).ok
            assert has(report, STREAM, "lost tail", f"stream seq {head}", f"ends at seq {kept_head}"), report.breaks
            assert has(report, subject_of(lost), f"lost aggregate testcounter {lost}", "#1..#4"), report.breaks
        finally:
            await nc.drain()
    finally:
        await engine.dispose()
    cli = cli_verify(fresh_nats.url, tmp_path, database_url)
    assert cli.returncode == 2, cli.stderr
    assert "lost tail" in cli.stderr and "事件/秒" in cli.stderr
    # The auditor's own copies: anchors and public keys exported, verified without the services' data.
    env = {
        **os.environ,
        "RENDA_NATS_URL": fresh_nats.url,
        "RENDA_DATA_DIR": str(tmp_path),
        "RENDA_DATABASE_URL": database_url,
    }
    for verb in (
        ["audit", "anchor", "--export", str(tmp_path / "anchors.jsonl")],
        ["audit", "keys", "--export", str(tmp_path / "keys.json")],
    ):
        done = run_cli(verb, env)
        assert done.returncode == 0, done.stderr
    auditor = tmp_path / "auditor"
    env = {
        **env,
        "RENDA_DATA_DIR": str(auditor),
        "RENDA_DATABASE_URL": f"sqlite+aiosqlite:///{auditor / 'none.sqlite3'}",
    }
    args = ["--anchors", str(tmp_path / "anchors.jsonl"), "--keys", str(tmp_path / "keys.json")]
    cli = run_cli(["audit", "verify", *args], env)
    assert cli.returncode == 2, cli.stderr
    assert "lost tail" in cli.stderr and f"lost aggregate testcounter {lost}" in cli.stderr
    assert "unknown key" not in cli.stderr and "not signed" not in cli.stderr  # the exported keys verify the rest


async def test_an_aggregates_deleted_events_are_reported_with_their_place(js: NATS, tmp_path: Path) -> None:
    # A store whose stream lets an administrator delete messages (deny_delete cannot be lifted later).
    assert not (await jsapi.api(js, f"STREAM.DELETE.{STREAM}")).get("error")
    config = {**stream_config(CONTEXT, 1), "deny_delete": False}
    assert not (await jsapi.api(js, f"STREAM.CREATE.{STREAM}", config)).get("error")
    signer = load_signer(SERVICE, tmp_path)
    keyring = Keyring.gather(tmp_path)
    store = EventStore(js, signer=signer)
    kept, gone, cut = await write(store, counters=3, increments=2)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    try:
        await anchored(js, engine, signer, keyring)
        # An administrator removes one aggregate's events, and another's last one.
        doomed = [e.stream_seq for e in await store.read(COUNTER, gone, JURISDICTION)]
        last_of_cut = (await store.read(COUNTER, cut, JURISDICTION))[-1]
        for seq in [*doomed, last_of_cut.stream_seq]:
            reply = await jsapi.api(js, f"STREAM.MSG.DELETE.{STREAM}", {"seq": seq, "no_erase": True})
            assert reply.get("success"), reply
        report = await verify(js, keyring, engine)
        assert has(report, STREAM, f"stream seq {doomed[0]}", "deleted"), report.breaks
        assert has(report, subject_of(gone), f"lost aggregate testcounter {gone}"), report.breaks
        assert has(report, subject_of(cut), f"lost tail of aggregate {cut}", f"#{last_of_cut.sequence}"), report.breaks
        assert has(report, "anchor at stream seq", "removed, inserted or changed"), report.breaks
        assert not has(report, subject_of(kept))
    finally:
        await engine.dispose()
