"""``renda init`` on an empty NATS and database: creates, reruns cleanly, refuses a differing stream."""

from __future__ import annotations

import asyncio

import nats
import typer
from sqlalchemy import inspect
from typer.testing import CliRunner

from libs.config.settings import Settings
from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.streams import stream_config
from libs.events.subjects import CONTEXTS, SNAPSHOT_STREAM, stream_name
from libs.runtime.init import initialise
from libs.runtime.nats_server import EmbeddedNats
from renda import registry
from renda.cli.init import register

STREAMS = [stream_name(c) for c in CONTEXTS] + [SNAPSHOT_STREAM]


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second verb, so typer keeps "init" as a sub-command
        pass

    return app


def _env(settings: Settings) -> dict[str, str]:
    return {
        "RENDA_NATS_URL": settings.nats_url,
        "RENDA_DATABASE_URL": settings.database_url,
        "RENDA_DATA_DIR": str(settings.data_dir),
        "RENDA_JWT_SECRET": settings.jwt_secret,
        "RENDA_STREAM_REPLICAS": "1",
    }


async def _configs(url: str) -> dict[str, dict[str, object]]:
    nc = await nats.connect(url)
    try:
        out = {}
        for name in STREAMS:
            info = await jsapi.api(nc, f"STREAM.INFO.{name}")
            if "config" in info:
                out[name] = info["config"]
        return out
    finally:
        await nc.drain()


async def _create(url: str, config: dict[str, object]) -> None:
    nc = await nats.connect(url)
    try:
        created = await jsapi.api(nc, f"STREAM.CREATE.{config['name']}", config)
        assert "error" not in created, created
    finally:
        await nc.drain()


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_init_creates_streams_and_tables_then_reports_them_existing(
    fresh_nats: EmbeddedNats, database_url: str, settings_for
) -> None:
    """Sync: the verb runs its own event loop, like the command line."""
    settings = settings_for(fresh_nats.url, database_url)
    first = CliRunner().invoke(_cli(), ["init"], env=_env(settings))
    assert first.exit_code == 0, first.output
    for name in STREAMS:
        assert f"created  stream {name}" in first.output
    configs = asyncio.run(_configs(fresh_nats.url))
    assert all(configs[name]["num_replicas"] == 1 for name in STREAMS)
    assert configs[stream_name("suggestions")]["deny_delete"] is True
    tables = asyncio.run(_tables(database_url))
    # every service's read models, the locators, the revocations and the checkpoints
    assert {"projection_checkpoints", "suggestions_auth_revocations", "deputies_auth_revocations"} <= tables
    from libs.events.anchors import tables as anchor_tables

    assert {t.name for t in anchor_tables("suggestions").metadata.sorted_tables} <= tables
    for service in registry.available():
        assert any(t.startswith(f"{service}_") for t in tables), (service, sorted(tables))

    again = CliRunner().invoke(_cli(), ["init"], env=_env(settings))
    assert again.exit_code == 0, again.output
    assert "created  " not in again.output
    for name in STREAMS:
        assert f"existing stream {name}" in again.output
    assert f"existing table suggestions: {'projection_checkpoints'}" in again.output


def test_init_refuses_a_stream_configured_otherwise_and_names_the_field(fresh_nats: EmbeddedNats, settings_for) -> None:
    settings = settings_for(fresh_nats.url)
    hand_made = {**stream_config("meetings", 1), "deny_delete": False, "duplicate_window": 5_000_000_000}
    asyncio.run(_create(fresh_nats.url, hand_made))

    r = CliRunner().invoke(_cli(), ["init"], env=_env(settings))
    assert r.exit_code == 1, r.output
    assert "RENDA_MEETINGS  字段 field=deny_delete  期望 expected=True  实际 found=False" in r.output
    assert "field=duplicate_window  期望 expected=120000000000  实际 found=5000000000" in r.output
    # nothing "fixed": the stream keeps the operator's config
    assert asyncio.run(_configs(fresh_nats.url))[stream_name("meetings")].get("deny_delete", False) is False


async def test_init_reports_a_replica_count_that_differs(fresh_nats: EmbeddedNats, settings_for, tmp_path) -> None:
    one = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    assert (await initialise(one, registry.factories())).ok
    three = Settings(**{**one.model_dump(), "stream_replicas": 3})
    report = await initialise(three, registry.factories())
    assert not report.ok
    assert {(d.stream, d.field, d.expected, d.found) for d in report.differences} == {
        (name, "num_replicas", 3, 1) for name in STREAMS
    }


async def test_init_on_the_embedded_default_starts_its_server_and_marks_the_install(tmp_path) -> None:
    from libs.runtime.embedded import MARKER
    from libs.runtime.nats_server import free_port

    settings = Settings(data_dir=tmp_path / "var", jwt_secret="x", embedded_nats_port=free_port())
    report = await initialise(settings, registry.factories())
    assert report.ok
    assert {f"stream {n} (replicas 1)" for n in STREAMS} <= set(report.created)
    assert (settings.data_dir / MARKER).exists()  # renda up will not treat a missing stream as new
    again = await initialise(settings, registry.factories())  # the server it started is stopped again
    assert {f"stream {n}" for n in STREAMS} <= set(again.existing) and not again.created


async def test_missing_streams_names_what_init_would_create(fresh_nats: EmbeddedNats, settings_for, tmp_path) -> None:
    from libs.runtime.init import missing_streams, run_init_first

    nc = await nats.connect(fresh_nats.url)
    try:
        before = await missing_streams(nc)
        assert before == [stream_name(c) for c in CONTEXTS]
        assert "renda init" in run_init_first(before)
        settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
        assert (await initialise(settings, registry.factories())).ok
        assert await missing_streams(nc) == []
    finally:
        await nc.drain()
