"""/readyz reports each read model's lag over HTTP, and a query can wait for its own write (read-your-writes)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import uvicorn
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.auth.actor import Principal
from libs.auth.tokens import issue, signing_key
from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope, chain_hash, hashed_part
from libs.events.keys import Keyring, load_signer
from libs.events.projection import ProjectionRunner
from libs.events.subjects import aggregate_subject
from libs.events.verify import verify_all
from libs.runtime.embedded import build_gateway
from libs.runtime.nats_server import EmbeddedNats, free_port
from renda import registry
from tests.support.waiting import eventually


# -- over HTTP: /readyz and read-your-writes --------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    gateway, _ = build_gateway(settings, registry.factories())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(gateway, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> None:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        assert server.started

    await eventually(started, timeout=60)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        try:
            yield client, gateway
        finally:
            server.should_exit = True
            await task


def bearer(settings: Settings, role: str, jurisdiction: str) -> dict[str, str]:
    p = Principal(subject=f"test:{role}", role=role, jurisdiction=jurisdiction)  # type: ignore[arg-type]
    from datetime import timedelta

    return {
        "Authorization": "Bearer " + issue(p, signing_key(settings.jwt_secret, settings.data_dir), timedelta(hours=1))
    }


async def test_lag_in_readyz_and_read_your_writes(
    js: NATS, fresh_nats: EmbeddedNats, database_url: str, settings_for
) -> None:
    settings: Settings = settings_for(fresh_nats.url, database_url)
    province = bearer(settings, "city_staff", "34")
    city = bearer(settings, "city_staff", "3404")
    async with serving(settings) as (client, gateway):
        rt = gateway.services["deputies"].state.runtime  # type: ignore[attr-defined]
        runner: ProjectionRunner = rt.runners["deputies-jurisdictions"]

        async def ready() -> dict:
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text
            return r.json()

        body = await eventually(ready, timeout=30)
        assert body["services"]["deputies"]["projections"]["deputies-jurisdictions"]["lag"] == {"RENDA_DEPUTIES": 0}

        created = await client.post(
            "/api/deputies/jurisdictions", json={"code": "3404", "name": "淮南市", "kind": "city"}, headers=province
        )
        assert created.status_code == 201, created.text

        # Now a slow projection: the read waits for it when told where the write landed.
        gate = asyncio.Event()
        real_apply = runner.projection.apply

        async def slow_apply(env: Envelope, tx: AsyncConnection) -> None:
            await gate.wait()
            await real_apply(env, tx)

        runner.projection.apply = slow_apply  # type: ignore[method-assign]
        created = await client.post(
            "/api/deputies/jurisdictions",
            headers=city,
            json={"code": "340403", "name": "田家庵区", "kind": "county", "parent": "3404"},
        )
        assert created.status_code == 201, created.text
        written_at = created.headers["renda-position"]
        assert written_at.startswith("RENDA_DEPUTIES:")

        async def lag_shows() -> None:
            r = await client.get("/readyz")
            lag = r.json()["services"]["deputies"]["projections"]["deputies-jurisdictions"]["lag"]
            assert lag["RENDA_DEPUTIES"] >= 1

        await eventually(lag_shows)
        assert (await runner.lag())["RENDA_DEPUTIES"] >= 1

        waiting = asyncio.create_task(
            client.get(
                "/api/deputies/jurisdictions", params={"under": "3404"}, headers={**city, "Renda-After": written_at}
            )
        )
        plain = await client.get("/api/deputies/jurisdictions", params={"under": "3404"}, headers=city)
        assert plain.status_code == 200
        assert "340403" not in [j["code"] for j in plain.json()["items"]]  # the read model is behind
        assert not waiting.done()  # the read-your-writes query waits for it
        gate.set()
        got = await waiting
        assert got.status_code == 200, got.text
        assert "340403" in [j["code"] for j in got.json()["items"]]

        async def caught() -> None:
            assert (await runner.lag())["RENDA_DEPUTIES"] == 0

        await eventually(caught)
        # What the service wrote is signed with its key (a chain head per append): the stream verifies
        # against the data folder's keys, and the anchor read model flags nothing.
        report = await verify_all(js, ("deputies",), keyring=Keyring.gather(settings.data_dir))
        assert report.ok and report.signatures >= 2, report.breaks
        body = await eventually(ready)
        assert "unauthenticated" not in body["services"]["deputies"]
        assert "deputies-audit-anchors" in body["services"]["deputies"]["projections"]
        # An event published straight to NATS with a valid chain and a key no service has: flagged.
        last = orjson.loads((await jsapi.direct_get_last(js, "RENDA_DEPUTIES", "renda.deputies.3404.340403.>")).data)  # type: ignore[union-attr]
        intruder = load_signer("intruder", settings.data_dir.parent / "elsewhere")
        forged = {k: v for k, v in last.items() if k != "sig"}
        forged.update(
            type="ForgedByTest",
            id=str(uuid.uuid4()),
            causation_id=str(uuid.uuid4()),
            key_id=intruder.key_id,
            sequence=last["sequence"] + 1,
            prev_hash=last["hash"],
        )
        forged["hash"] = chain_hash(hashed_part(forged))
        forged["sig"] = intruder.sign(forged["hash"])
        subject = aggregate_subject("deputies", last["jurisdiction"], last["aggregate_type"], last["aggregate_id"])
        at = (await jsapi.publish(js, subject, orjson.dumps(forged), {"Nats-Msg-Id": forged["id"]})).seq

        async def flagged() -> None:
            r = await client.get("/readyz")
            deputies = r.json()["services"]["deputies"]
            assert "unauthenticated" in deputies, deputies
            flags = deputies["unauthenticated"]["deputies-audit-anchors"]
            assert [(f["seq"], f["subject"]) for f in flags["last"]] == [(at, subject)]
            assert "unknown key" in flags["last"][0]["reason"]

        await eventually(flagged, timeout=30)
        metrics = (await client.get("/metrics")).text
        assert 'renda_events_unauthenticated_total{reason="unknown_key",stream="RENDA_DEPUTIES"}' in metrics
