"""The event streams: one per bounded context, configured deliberately.

Durability: the servers we start run with ``sync_interval: always`` (see deploy/ and
libs/runtime/nats_server.py), so an acknowledged append has been fsynced. Jepsen's 2025
analysis of JetStream 2.12 lost acknowledged writes on power failure under the default
2-minute fsync; the cost of ``always`` is measured in bench/ and written down in
docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS

from libs.events.errors import EventStoreError, StreamMissing
from libs.events.jetstream import STREAM_NAME_IN_USE, STREAM_NOT_FOUND, api
from libs.events.subjects import CONTEXTS, SNAPSHOT_STREAM, snapshot_subjects, stream_name, stream_subjects

DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000  # Nats-Msg-Id de-duplication window


def stream_config(context: str, replicas: int) -> dict[str, Any]:
    return {
        "name": stream_name(context),
        "subjects": stream_subjects(context),
        "retention": "limits",
        "storage": "file",
        "num_replicas": replicas,
        "discard": "old",
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "duplicate_window": DUPLICATE_WINDOW_NS,
        "allow_direct": True,  # aggregate loads read one subject via Direct Get
        "allow_atomic": True,  # several events of one command: all or nothing
        "deny_delete": True,  # the audit trail is append-only
        "deny_purge": True,
        "allow_rollup_hdrs": False,
    }


async def ensure_streams(
    nc: NATS, replicas: int, *, create_missing: bool, contexts: tuple[str, ...] = CONTEXTS
) -> list[str]:
    """Check every event stream exists; create missing ones only when told this is a new installation.

    A missing stream on an installation that already holds data means lost events; recreating
    it silently would hide the loss, so the caller must decide (``create_missing``).
    Returns the names of the streams created.
    """
    created = []
    for context in contexts:
        name = stream_name(context)
        info = await api(nc, f"STREAM.INFO.{name}")
        err = info.get("error")
        if not err:
            continue
        if err.get("err_code") != STREAM_NOT_FOUND:
            raise EventStoreError(f"stream {name}: {err}")
        if not create_missing:
            raise StreamMissing(name)
        reply = await api(nc, f"STREAM.CREATE.{name}", stream_config(context, replicas))
        if reply.get("error"):
            raise EventStoreError(f"cannot create stream {name}: {reply['error']}")
        created.append(name)
    return created


def snapshot_stream_config(replicas: int) -> dict[str, Any]:
    """The snapshot stream: a cache of folded states, never the truth, so it may be purged or lost.

    One message per aggregate (``max_msgs_per_subject: 1``: a new snapshot replaces the old), read
    by Direct Get; deletes and purges allowed; nothing reads it but ``EventStore.load``.
    """
    return {
        "name": SNAPSHOT_STREAM,
        "subjects": snapshot_subjects(),
        "retention": "limits",
        "storage": "file",
        "num_replicas": replicas,
        "discard": "old",
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": 1,
        "allow_direct": True,
        "allow_atomic": False,
        "deny_delete": False,
        "deny_purge": False,
        "allow_rollup_hdrs": False,
    }


async def ensure_snapshot_stream(nc: NATS, replicas: int) -> bool:
    """Create the snapshot stream unless it exists; True when this call created it.

    Unlike the event streams this one is a cache: creating it empty loses nothing. Two processes
    racing to create it are both fine ("name already in use").
    """
    info = await api(nc, f"STREAM.INFO.{SNAPSHOT_STREAM}")
    err = info.get("error")
    if not err:
        return False
    if err.get("err_code") != STREAM_NOT_FOUND:
        raise EventStoreError(f"stream {SNAPSHOT_STREAM}: {err}")
    reply = await api(nc, f"STREAM.CREATE.{SNAPSHOT_STREAM}", snapshot_stream_config(replicas))
    err = reply.get("error")
    if err and err.get("err_code") != STREAM_NAME_IN_USE:
        raise EventStoreError(f"cannot create stream {SNAPSHOT_STREAM}: {err}")
    return not err
