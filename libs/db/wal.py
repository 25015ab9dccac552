"""Copying a SQLite file's write-ahead log into the file, in a thread, every N commits.

SQLite's automatic checkpoint runs inside the commit that fills the log: two fsyncs in the event
loop's thread, holding every request for up to tens of ms. The connections that write set
``PRAGMA wal_autocheckpoint=0`` and count their commits here instead; every ``every`` commits a
PASSIVE checkpoint (it never waits for readers or writers) runs in the default executor, one at
a time. Durability is unchanged: a commit is in the log, the log is the database until copied.

A PASSIVE checkpoint never lets the log start over while commits keep coming (it copies what was
there when it began; the next writer reuses the log only if everything was copied): a rebuild
committing without pause grew a city's logs to 22 GB each. So once the log passes ``LIMIT``, the
copy is a TRUNCATE checkpoint: it waits (in its thread) for the current write transaction,
holds new writers off while it copies (the event loop's writer then goes through the async
driver, which waits in its own thread), and empties the log.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3

import structlog

log = structlog.get_logger("db.wal")


LIMIT = 64 * 1024 * 1024  # bytes of log past which the copy empties it (TRUNCATE)


def log_size(file: str) -> int:
    try:
        return os.stat(file + "-wal").st_size
    except FileNotFoundError:
        return 0


def copy_wal(file: str, mode: str = "PASSIVE") -> None:
    conn = sqlite3.connect(file, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={1000 if mode == 'PASSIVE' else 10_000}")
        conn.execute(f"PRAGMA wal_checkpoint({mode})")
    finally:
        conn.close()


class WalCopier:
    def __init__(self, file: str, every: int) -> None:
        self.file = file
        self.every = every
        self.commits = 0  # since the log was last copied
        self.copying: asyncio.Future[None] | None = None

    def committed(self) -> None:
        """Count one commit; start a copy when ``every`` have been made, or the log is past ``LIMIT``,
        and none is running."""
        self.commits += 1
        if self.copying is not None:
            return
        full = log_size(self.file) > LIMIT
        if self.commits < self.every and not full:
            return
        self.commits = 0
        mode = "TRUNCATE" if full else "PASSIVE"
        self.copying = asyncio.get_running_loop().run_in_executor(None, copy_wal, self.file, mode)
        self.copying.add_done_callback(self._done)

    def _done(self, f: asyncio.Future[None]) -> None:
        self.copying = None
        if not f.cancelled() and f.exception() is not None:
            log.warning("db.wal_checkpoint_failed", file=self.file, error=str(f.exception()))
