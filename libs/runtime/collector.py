"""The cyclic garbage collector, kept quiet during bulk work (a deadline wave, a rebuild, a seed).

Bulk work allocates envelopes, states, statements and messages by the hundred thousand; the
collector's young-generation runs scanned them, and everything the process held before, again
and again: a fifth of the watcher's CPU in a wave, 37 % of a rebuild's, half of a seed's (the
figures are in the callers' commits and docstrings). Inside ``quiet_collector`` what existed
before is frozen (never scanned) and collections are rare; on leaving, both are restored.

Nested and concurrent uses (two asyncio tasks, a wave during a rebuild) count: the first to
enter sets it up, the last to leave restores it, whatever the order they leave in.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

BULK = (50_000, 20, 100)  # generation 0 every 50,000 allocations instead of 700
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def quiet_collector(threshold: tuple[int, int, int] = BULK, *, collect_first: bool = False) -> Iterator[None]:
    """``collect_first``: one full collection before freezing (worth it before minutes of work,
    not before every few seconds' page of a service that runs on)."""
    global _depth, _saved
    _depth += 1
    if _depth == 1:
        _saved = gc.get_threshold()
        if collect_first:
            gc.collect()
        gc.freeze()
        gc.set_threshold(*threshold)
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            gc.unfreeze()
            _saved = None
