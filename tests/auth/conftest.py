"""One running system per test module (starting every service costs seconds), on the embedded
default database (SQLite); the tests that depend on the database itself run on both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from libs.config.settings import Settings
from libs.runtime.nats_server import EmbeddedNats
from tests.support.system import System, running_system


@pytest.fixture(scope="module")
async def system(
    nats_server: EmbeddedNats, nc_module: object, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    data = tmp_path_factory.mktemp("auth-system")
    settings = Settings(
        nats_url=nats_server.url,
        database_url=f"sqlite+aiosqlite:///{data / 'read.sqlite3'}",
        data_dir=data / "data",
        jwt_secret="test-secret-" + uuid.uuid4().hex,
    )
    async with running_system(settings) as s:
        yield s


@pytest.fixture(scope="module")
async def nc_module(nats_server: EmbeddedNats) -> AsyncIterator[object]:
    from tests.conftest import _connect

    conn = await _connect(nats_server.url)
    yield conn
    await conn.drain()
