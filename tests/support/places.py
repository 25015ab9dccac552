"""Division codes no other test of this session uses: the suite's NATS server lives for the session.

Every helper that invents a city code takes it through ``fresh``; a code drawn twice (from one
helper or from two with overlapping ranges) would meet the earlier test's jurisdictions and get
409 ``already_exists``.
"""

from __future__ import annotations

from collections.abc import Callable

_taken: set[str] = set()


def fresh(draw: Callable[[], str]) -> str:
    for _ in range(100_000):
        code = draw()
        if code not in _taken:
            _taken.add(code)
            return code
    raise RuntimeError("no fresh division code left in this range")
