"""The secured cluster: TLS to clients and between routes, users with per-service permissions."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.errors import EventStoreError
from libs.events.subjects import CONTEXTS, stream_name
from libs.runtime.cluster import NatsCluster, accounts_conf, local_cluster
from libs.runtime.init import InitReport, init_streams
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = "renda.{context}.3404.340403._.probe.p1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    with local_cluster(tmp_path_factory.mktemp("secured")) as c:
        yield c


def _tls(c: NatsCluster) -> ssl.SSLContext:
    assert c.tls is not None
    return ssl.create_default_context(cafile=str(c.tls.ca))


async def _connect(c: NatsCluster, user: str, errors: list[str] | None = None) -> NATS:
    async def on_error(e: Exception) -> None:
        if errors is not None:
            errors.append(str(e))

    return await nats.connect(
        servers=c.url(user).split(","), tls=_tls(c), error_cb=on_error, connect_timeout=5, max_reconnect_attempts=2
    )


@pytest.fixture(scope="module")
async def admin(cluster: NatsCluster) -> AsyncIterator[NATS]:
    nc = await _connect(cluster, "renda")

    async def streams_made() -> None:
        report = InitReport()
        try:  # JetStream answers once the meta leader is elected
            await init_streams(nc, 3, report)
        except (nats.errors.TimeoutError, EventStoreError) as exc:
            raise AssertionError(f"JetStream not ready: {exc}") from exc
        assert report.ok, report.differences

    await eventually(streams_made, timeout=30)
    yield nc
    await nc.drain()


async def _messages(admin: NATS, context: str) -> int:
    return int((await jsapi.stream_info(admin, stream_name(context)))["state"]["messages"])


async def test_routes_over_tls_replicate_every_stream_three_times(admin: NATS) -> None:
    async def all_current() -> None:
        info = await jsapi.stream_info(admin, stream_name("deputies"))
        assert info["config"]["num_replicas"] == 3
        assert info["cluster"]["leader"]
        assert [r["current"] for r in info["cluster"]["replicas"]] == [True, True]

    await eventually(all_current, timeout=30)


async def test_a_service_publishes_its_own_events_and_not_another_contexts(cluster: NatsCluster, admin: NATS) -> None:
    errors: list[str] = []
    nc = await _connect(cluster, "suggestions", errors)
    try:
        before = await _messages(admin, "deputies")
        ack = await jsapi.publish(nc, SUBJECT.format(context="suggestions"), b"{}", {"Nats-Msg-Id": "own-1"})
        assert ack.seq >= 1 and not ack.duplicate
        with pytest.raises((EventStoreError, asyncio.TimeoutError, nats.errors.TimeoutError)):
            await jsapi.publish(nc, SUBJECT.format(context="deputies"), b"{}", {"Nats-Msg-Id": "x-1"}, timeout=1)

        async def refused() -> None:
            refusals = [e for e in errors if "permissions violation for publish to" in e.lower()]
            assert any("renda.deputies." in e for e in refusals), errors

        await eventually(refused)
        assert await _messages(admin, "deputies") == before  # nothing got into the other stream
        # nor may it change a stream's configuration
        with pytest.raises((asyncio.TimeoutError, nats.errors.TimeoutError)):
            await jsapi.api(nc, f"STREAM.DELETE.{stream_name('deputies')}", timeout=1)
        assert (await jsapi.stream_info(admin, stream_name("deputies")))["config"]["name"] == stream_name("deputies")
    finally:
        await nc.close()


@pytest.mark.parametrize("user", ["supervision", "auditor"])
async def test_read_only_users_read_but_publish_into_no_stream(cluster: NatsCluster, admin: NATS, user: str) -> None:
    errors: list[str] = []
    nc = await _connect(cluster, user, errors)
    try:
        info = await jsapi.stream_info(nc, stream_name("suggestions"))  # reading works
        assert info["config"]["name"] == stream_name("suggestions")
        before = {c: await _messages(admin, c) for c in CONTEXTS}
        for context in CONTEXTS:
            await nc.publish(SUBJECT.format(context=context), b"{}", headers={"Nats-Msg-Id": f"{user}-{context}"})
        await nc.flush()

        async def refused() -> None:
            assert sum("permissions violation for publish" in e.lower() for e in errors) == len(CONTEXTS)

        await eventually(refused)
        assert {c: await _messages(admin, c) for c in CONTEXTS} == before
    finally:
        await nc.close()


async def _refused(url: str, tls: ssl.SSLContext | None) -> str:
    """Connect once, no retries; the refusal's text (a connection that works is a failure)."""
    try:
        nc = await asyncio.wait_for(
            nats.connect(url, tls=tls, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0), 15
        )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await nc.close()
    raise AssertionError(f"{url} accepted the connection")


async def test_no_credentials_wrong_password_or_no_tls_is_refused(cluster: NatsCluster, admin: NATS) -> None:
    port = cluster.nodes[0].client_port
    password = cluster.passwords["suggestions"]
    anonymous = await _refused(f"tls://127.0.0.1:{port}", _tls(cluster))
    assert "uthorization" in anonymous, anonymous
    wrong = await _refused(f"tls://suggestions:{password}x@127.0.0.1:{port}", _tls(cluster))
    assert "uthorization" in wrong, wrong
    plain = await _refused(f"nats://suggestions:{password}@127.0.0.1:{port}", None)  # TLS required
    assert plain
    assert admin.is_connected


def test_the_committed_accounts_file_is_the_rendered_one() -> None:
    committed = (ROOT / "deploy" / "nats" / "accounts.conf").read_text()
    assert committed == accounts_conf()
    assert "$RENDA_NATS_PASSWORD_SUGGESTIONS" in committed
