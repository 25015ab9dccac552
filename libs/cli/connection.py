"""Connecting the command line to the event store: the running system's NATS, or the embedded one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nats.aio.client import Client as NATS

from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.client import connect as nats_connect
from libs.events.keys import load_signer
from libs.events.store import EventStore
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats, port_free


@contextlib.asynccontextmanager
async def operator_nats(settings: Settings) -> AsyncIterator[tuple[NATS, EventStore]]:
    """When ``renda up`` is not running, start the embedded server for the duration of the command."""
    embedded = None
    if settings.embedded_nats and port_free(settings.embedded_nats_port):
        embedded = EmbeddedNats(settings.embedded_nats_port, settings.data_dir / "nats").start()
    nc = await nats_connect(servers=settings.nats_servers, name="renda-cli", connect_timeout=5)
    try:
        jsapi.check_server_version(nc)
        from libs.runtime.embedded import MARKER

        marker = settings.data_dir / MARKER
        await ensure_streams(
            nc, settings.stream_replicas, create_missing=settings.embedded_nats and not marker.exists()
        )
        if settings.embedded_nats:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("streams created by renda\n")
        # operator commands sign what they append, like every service (renda audit verify checks it)
        yield nc, EventStore(nc, signer=load_signer("operator", settings.data_dir))
    finally:
        await nc.drain()
        if embedded is not None:
            embedded.stop()
