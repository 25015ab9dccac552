"""The view's "now": the live view and the end of today are read through this clock.

Production never sets it. A test fixes it (``fixed``) to take the live view at a chosen moment and
ask for that day later, through the same read models; the write side keeps its own clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


@contextlib.contextmanager
def fixed(moment: datetime) -> Iterator[None]:
    """Within the block the view's now is ``moment`` (timezone-aware)."""
    global _now
    before = _now
    _now = lambda: moment  # noqa: E731
    try:
        yield
    finally:
        _now = before
