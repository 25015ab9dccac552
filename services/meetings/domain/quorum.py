"""Quorum and majority, in exact integer arithmetic (the Local Organic Law's numbers).

- A congress session opens with at least two thirds of ALL current deputies of that congress;
  a presidium meeting with at least two thirds of the presidium's members.
- A motion passes with MORE than half of ALL members (not of those present).
"""

from __future__ import annotations

from dataclasses import dataclass


def needed_for_quorum(members: int) -> int:
    """ceil(2 * members / 3): the fewest present that make two thirds."""
    if members < 0:
        raise ValueError("members must not be negative")
    return -(-2 * members // 3)


def quorum_met(present: int, members: int) -> bool:
    return members > 0 and present >= needed_for_quorum(members)


def votes_needed_to_pass(members: int) -> int:
    """The fewest yes votes that are more than half of all members."""
    if members < 0:
        raise ValueError("members must not be negative")
    return members // 2 + 1


def majority_passes(yes: int, members: int) -> bool:
    return yes * 2 > members


@dataclass(frozen=True)
class Quorum:
    """The live quorum shown on a meeting: ``needed`` is 0 for kinds without one."""

    present: int
    members: int
    needed: int

    @property
    def met(self) -> bool:
        return self.members > 0 and self.present >= self.needed

    def as_dict(self) -> dict[str, int]:
        return {"present": self.present, "members": self.members, "needed": self.needed}
