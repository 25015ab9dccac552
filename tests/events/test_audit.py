"""The audit trail: every chain verifies, and an altered stored event is detected.

Two ways of tampering: bytes changed inside the JetStream file store on disk (the server notices
its own checksum and no longer serves that message, which the audit reports as a gap), and
forged envelopes published onto an aggregate's subject (the chain reports them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import nats
import orjson
import pytest
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.audit import export, history, verify_all
from libs.events.envelope import chain_hash
from libs.events.store import EventStore
from libs.events.streams import ensure_streams
from libs.events.subjects import aggregate_subject
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

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")


async def fill(nc: NATS, aggregates: int = 3, increments: int = 3, label: str = "标签") -> list[str]:
    store = EventStore(nc)
    ids = []
    for a in range(aggregates):
        cid = new_id()
        done = await store.append(
            await store.load(COUNTER, cid, JURISDICTION), [CounterOpened(counter_id=cid, label=f"{label}-{a}")], meta()
        )
        for k in range(increments):
            done = await store.append(
                done.loaded, [CounterIncremented(counter_id=cid, by=k, note=f"note-{a}-{k}")], meta()
            )
        ids.append(cid)
    return ids


def renda_audit_verify(nats_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RENDA_NATS_URL": nats_url, "RENDA_DATA_DIR": str(data_dir)}
    return subprocess.run([RENDA, "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_every_chain_verifies(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        await fill(conn, aggregates=3, increments=4)
        report = await verify_all(conn)
        assert report.ok, report.breaks
        assert (report.events, report.aggregates) == (15, 3)
    finally:
        await conn.drain()


@pytest.mark.parametrize("which", ["first event", "last event"])
async def test_bytes_altered_in_the_file_store_are_detected(
    fresh_nats: EmbeddedNats, tmp_path: Path, which: str
) -> None:
    conn = await nats.connect(fresh_nats.url)
    await ensure_streams(conn, 1, create_missing=True)
    ids = await fill(conn, aggregates=2, increments=2)
    if which == "last event":  # the aggregate's last event: no later link points at it
        target, replacement = b"note-1-1", b"note-1-7"
    else:
        target, replacement = '签-1"'.encode(), '签-9"'.encode()
    assert (await verify_all(conn)).ok
    await conn.drain()
    fresh_nats.stop()

    blocks = [p for p in fresh_nats.data_dir.rglob("*.blk") if target in p.read_bytes()]
    assert len(blocks) == 1, blocks
    raw = blocks[0].read_bytes()
    assert raw.count(target) == 1
    blocks[0].write_bytes(raw.replace(target, replacement))  # same length, one character changed

    fresh_nats.start()
    conn = await nats.connect(fresh_nats.url)
    try:
        assert (await jsapi.stream_info(conn, STREAM))["state"]["messages"] == 6
        report = await verify_all(conn)
        assert not report.ok
        assert report.events < 6 or any("hash" in b for b in report.breaks)
        # The untouched aggregate still verifies on its own: the break names the altered one.
        intact = aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, ids[0])
        assert not any(intact in b for b in report.breaks)
    finally:
        await conn.drain()
    cli = renda_audit_verify(fresh_nats.url, tmp_path / "cli-data")
    assert cli.returncode != 0, cli.stderr
    assert "断裂" in cli.stderr
    assert "Traceback" not in cli.stderr


async def forge(nc: NATS, body: dict) -> None:
    subject = aggregate_subject(CONTEXT, body["jurisdiction"], body["aggregate_type"], body["aggregate_id"])
    await jsapi.publish(nc, subject, orjson.dumps(body), {"Nats-Msg-Id": "forged-" + new_id()})


async def test_a_forged_event_with_altered_content_is_reported(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        (cid,) = await fill(conn, aggregates=1, increments=2)
        bodies = await history(conn, cid)
        last = bodies[-1]
        forged = {
            **last,
            "sequence": last["sequence"] + 1,
            "prev_hash": last["hash"],
            "id": new_id(),
            "data": {**last["data"], "by": 1_000_000},
        }  # hash left as it was: content does not match
        await forge(conn, forged)
        report = await verify_all(conn)
        assert len(report.breaks) == 1
        assert "content does not match its hash" in report.breaks[0]
        assert f"#{forged['sequence']}" in report.breaks[0]
    finally:
        await conn.drain()


async def test_a_rewritten_history_is_reported_even_with_a_recomputed_hash(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        (cid,) = await fill(conn, aggregates=1, increments=2)
        first = (await history(conn, cid))[0]
        rewritten = {k: v for k, v in first.items() if k != "hash"}
        rewritten["data"] = {**first["data"], "label": "伪造"}
        rewritten["id"] = new_id()
        rewritten["hash"] = chain_hash(rewritten)  # a self-consistent replacement of event #1
        await forge(conn, rewritten)
        report = await verify_all(conn)
        assert not report.ok
        assert any("sequence should be 4" in b for b in report.breaks)
        assert any("prev_hash does not match" in b for b in report.breaks)
    finally:
        await conn.drain()


async def test_history_and_export(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        a, b = await fill(conn, aggregates=2, increments=2)
        middle = datetime.now(UTC)
        (c,) = await fill(conn, aggregates=1, increments=0, label="late")
        hist = await history(conn, a)
        assert [h["sequence"] for h in hist] == [1, 2, 3]
        assert {h["aggregate_id"] for h in hist} == {a}
        assert hist[0]["type"] == "TestCounterOpened"
        assert await history(conn, new_id()) == []
        everything = [e async for e in export(conn)]
        assert len(everything) == 7
        assert [e["aggregate_id"] for e in everything if e["sequence"] == 1] == [a, b, c]
        later = [e async for e in export(conn, since=middle)]
        assert [e["aggregate_id"] for e in later] == [c]
    finally:
        await conn.drain()
