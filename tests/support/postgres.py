"""Which PostgreSQL the suite uses, in the brief's order; it never skips.

1. ``RENDA_TEST_DATABASE_URL``; 2. 127.0.0.1:5432 if it answers; 3. testcontainers when a Docker
engine answers; 4. the embedded PostgreSQL of the ``pgserver`` wheel.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Postgres:
    admin_url: str  # a server-level URL; tests get databases of their own from it
    source: str

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, empty database (postgresql+asyncpg URL), dropped afterwards."""
        url, name = _fresh_database(self.admin_url)
        try:
            yield url
        finally:
            _drop(self.admin_url, name)


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _fresh_database(admin_url: str) -> tuple[str, str]:
    """Create a throw-away database next to ``admin_url``'s; return (async url, sync admin url)."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"renda_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False), name


def _drop(admin_url: str, name: str) -> None:
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    given = os.environ.get("RENDA_TEST_DATABASE_URL")
    stack = contextlib.ExitStack()
    with stack:
        if given:
            admin, source = given, "RENDA_TEST_DATABASE_URL"
        elif _answers("127.0.0.1", 5432):
            admin, source = "postgresql://postgres@127.0.0.1:5432/postgres", "local server on 127.0.0.1:5432"
        elif _docker_answers():
            from testcontainers.postgres import PostgresContainer

            container = stack.enter_context(PostgresContainer("postgres:16-alpine"))
            admin, source = container.get_connection_url(), "testcontainers (Docker)"
        else:
            import pgserver

            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="renda-pg-"))
            server = pgserver.get_server(folder, cleanup_mode="stop")
            stack.callback(server.cleanup)
            admin, source = server.get_uri(), "embedded pgserver"
        yield Postgres(admin_url=admin, source=source)
