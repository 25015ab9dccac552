"""Copying a SQLite file's write-ahead log into the file, in a thread, every N commits.

SQLite's automatic checkpoint runs inside the commit that fills the log: two fsyncs in the event
loop's thread, holding every request for up to tens of ms. The connections that write set
``PRAGMA wal_autocheckpoint=0`` and count their commits here instead; every ``every`` commits a
PASSIVE checkpoint (it never waits for readers or writers) runs in the default executor, one at
a time. Durability is unchanged: a commit is in the log, the log is the database until copied.
"""

from __future__ import annotations

import asyncio
import sqlite3

import structlog

log = structlog.get_logger("db.wal")


def copy_wal(file: str) -> None:
    conn = sqlite3.connect(file, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=1000")
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


class WalCopier:
    def __init__(self, file: str, every: int) -> None:
        self.file = file
        self.every = every
        self.commits = 0  # since the log was last copied
        self.copying: asyncio.Future[None] | None = None

    def committed(self) -> None:
        """Count one commit; start a copy when ``every`` have been made and none is running."""
        self.commits += 1
        if self.commits < self.every or self.copying is not None:
            return
        self.commits = 0
        self.copying = asyncio.get_running_loop().run_in_executor(None, copy_wal, self.file)
        self.copying.add_done_callback(self._done)

    def _done(self, f: asyncio.Future[None]) -> None:
        self.copying = None
        if not f.cancelled() and f.exception() is not None:
            log.warning("db.wal_checkpoint_failed", file=self.file, error=str(f.exception()))
