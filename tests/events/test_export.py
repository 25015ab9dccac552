"""``renda events export --under CODE``: only the envelopes at or under a division code, as stored."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
from nats.aio.client import Client as NATS

from libs.events.audit import export_lines
from libs.events.keys import load_signer
from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from tests.events.fixtures_domain import CONTEXT, COUNTER, CounterOpened, meta, new_id

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")
PLACES = {"county": "340499", "township": "340499001", "other_county": "340498", "other_township": "340498002"}


async def test_export_under_a_code_keeps_only_that_place_and_below(
    js: NATS, fresh_nats: EmbeddedNats, tmp_path: Path
) -> None:
    store = EventStore(js, signer=load_signer("notify", tmp_path))
    ids = {}
    for place, code in PLACES.items():
        cid = new_id()
        await store.append(await store.load(COUNTER, cid, code), [CounterOpened(counter_id=cid, label=place)], meta())
        ids[place] = cid

    async def under(code: str) -> set[str]:
        return {orjson.loads(b)["data"]["label"] async for b in export_lines(js, contexts=(CONTEXT,), under=code)}

    assert await under("340499") == {"county", "township"}
    assert await under("340499001") == {"township"}
    assert await under("3404") == set(PLACES)
    env = {**os.environ, "RENDA_NATS_URL": fresh_nats.url, "RENDA_DATA_DIR": str(tmp_path / "cli")}
    cli = await asyncio.to_thread(
        subprocess.run,
        [RENDA, "events", "export", "--under", "340498"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    lines = [orjson.loads(line) for line in cli.stdout.splitlines()]
    assert {b["aggregate_id"] for b in lines} == {ids["other_county"], ids["other_township"]}
    assert all(b["sig"] and b["key_id"] for b in lines)  # the same envelopes as stored, signatures included
    summary = cli.stderr.decode()
    assert "导出 2 个事件" in summary and "事件/秒" in summary
    bad = await asyncio.to_thread(
        subprocess.run, [RENDA, "events", "export", "--under", "34x"], cwd=ROOT, env=env, capture_output=True
    )
    assert bad.returncode != 0 and "区划代码" in bad.stderr.decode()
