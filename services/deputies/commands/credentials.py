"""The credential store: each account's password hash, overwritable, never in the event log.

A JetStream key-value bucket the deputies context owns (``RENDA_CREDENTIALS``, one revision per
key): a new password overwrites the old hash for good, and nothing of it reaches the streams,
``renda events export`` or ``audit history``. The directory's events only say that a password
was set or changed.

Accounts created before this store existed carried their hash in version 1 of ``UserCreated`` /
``PasswordChanged`` (their upcasters hide it from every decoded event). ``hash_of`` moves such a
hash into the bucket the first time the account logs in, reading the stored bytes of that one
account's events.
"""

from __future__ import annotations

import orjson
from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from libs.events import jetstream as jsapi
from libs.events.subjects import any_jurisdiction_subject, stream_name

BUCKET = "RENDA_CREDENTIALS"
LEGACY_TYPES = ("UserCreated", "PasswordChanged")


class Credentials:
    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self._kv: KeyValue | None = None

    async def bucket(self) -> KeyValue:
        if self._kv is None:
            js = self.nc.jetstream()
            try:
                self._kv = await js.key_value(BUCKET)
            except BucketNotFoundError:
                # as many copies as the directory's own stream keeps (a cluster's replicas)
                info = await jsapi.stream_info(self.nc, stream_name("deputies"))
                config = KeyValueConfig(
                    bucket=BUCKET,
                    description="renda: password hashes of the deputies' user directory (overwritable)",
                    history=1,
                    storage=StorageType.FILE,
                    replicas=int(info["config"].get("num_replicas", 1)),
                )
                self._kv = await js.create_key_value(config)
        return self._kv

    async def set(self, username: str, password_hash: str) -> None:
        await (await self.bucket()).put(username, password_hash.encode())

    async def stored(self, username: str) -> str | None:
        try:
            entry = await (await self.bucket()).get(username)
        except KeyNotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def hash_of(self, username: str) -> str | None:
        """The account's hash; one kept only in its old events moves here on first use."""
        found = await self.stored(username)
        if found is not None:
            return found
        legacy = await self._from_old_events(username)
        if legacy is not None:
            await self.set(username, legacy)
        return legacy

    async def _from_old_events(self, username: str) -> str | None:
        stream = stream_name("deputies")
        subject = any_jurisdiction_subject("deputies", "user", username)
        latest: str | None = None
        seq = 1
        while (m := await jsapi.direct_get_next(self.nc, stream, subject, seq)) is not None:
            body = orjson.loads(m.data)
            if body.get("type") in LEGACY_TYPES and isinstance(body.get("data", {}).get("password_hash"), str):
                latest = body["data"]["password_hash"]
            seq = m.seq + 1
        return latest
