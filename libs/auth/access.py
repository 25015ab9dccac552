"""The one access mechanism every service uses on every command and every query.

Two layers, both declared where the route is:

1. the **role rule** on the route itself — ``Depends(command_context(*roles))`` /
   ``read_context(*roles)`` / ``allow(*roles)`` (libs/web/deps.py): no valid token → 401, a role
   not listed → 403. The access-matrix test reads these from the apps' route tables.
2. the **record rule** in the handler, on the record as loaded, with the functions below:

   - jurisdiction scoping by code prefix: staff see a record when its jurisdiction code starts
     with theirs (a county sees its townships, never a neighbour's);
   - deputies see their own records only (a suggestion they lead or co-submitted, their dossier);
   - organizers see suggestions assigned to their unit (lead or co-unit) and act only as lead;
   - a record the caller may not see is answered 404 exactly like a missing one (existence
     does not leak); a record the caller sees but may not change is 403;
   - street rules: street working committees (街道人大工委) do not assign, extend or set key
     supervision — county staff do (and township staff of a real township);
   - lists are filtered in SQL before ``limit`` and the cursor, so neither the rows, the counts
     nor the next cursor say anything about foreign records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, false, or_, true

from libs.auth.actor import ROLES, STAFF, Principal, Role
from libs.web.errors import Forbidden, NotVisible

ANY_ROLE: tuple[Role, ...] = ROLES
STAFF_ROLES: tuple[Role, ...] = STAFF
OVER_TOWNSHIPS: tuple[Role, ...] = ("city_staff", "county_staff")
# Who assigns, extends and sets key supervision (交办、延期、重点督办): the township's presidium staff
# or county staff; for a street's suggestion county staff only.
ASSIGNERS: tuple[Role, ...] = ("county_staff", "township_staff")

LEAD_UNIT_ONLY = "只有主办单位可以办理此项（协办单位只能查看）。"
OUTSIDE = "只能在本辖区内进行此操作。"


@dataclass(frozen=True)
class Scope:
    """What access needs to know of one record: where it lies and whose it is."""

    jurisdiction: str | None
    deputy_ids: tuple[str, ...] = ()  # the deputies whose record it is (lead first; a dossier: the deputy)
    lead_unit: str | None = None
    co_units: tuple[str, ...] = ()
    street: bool = False  # lies in a street (街道), not a township

    @property
    def units(self) -> tuple[str, ...]:
        return ((self.lead_unit,) if self.lead_unit else ()) + self.co_units


# -- one record -----------------------------------------------------------------------------
def can_see(p: Principal, scope: Scope) -> bool:
    if p.role == "deputy":
        return p.deputy_id is not None and p.deputy_id in scope.deputy_ids
    if p.role == "organizer":
        return p.unit_id is not None and p.unit_id in scope.units
    return p.sees(scope.jurisdiction)


def require_visible(p: Principal, scope: Scope | None) -> None:
    """404 for a missing record and for one the caller may not see: the two look the same."""
    if scope is None or not can_see(p, scope):
        raise NotVisible()


def require_act(p: Principal, scope: Scope | None, roles: Iterable[str], *, message: str | None = None) -> None:
    """The caller sees the record (else 404) and its role may do this to it (else 403).

    An organizer acts only as the lead unit; co-units read.
    """
    require_visible(p, scope)
    assert scope is not None
    if p.role not in tuple(roles):
        raise Forbidden(message)
    if p.role == "organizer" and p.unit_id != scope.lead_unit:
        raise Forbidden(LEAD_UNIT_ONLY)


def require_own_deputy(p: Principal, deputy_id: str, jurisdiction: str | None) -> None:
    """A deputy's own record (dossier, activities): the deputy themself, or staff over its jurisdiction."""
    require_visible(p, Scope(jurisdiction=jurisdiction, deputy_ids=(deputy_id,)))


def require_inside(p: Principal, code: str | None, field: str = "jurisdiction") -> None:
    """Creating something in a named jurisdiction: it must lie inside the caller's prefix (else 403).

    The caller named the code, so nothing leaks by refusing with 403.
    """
    if p.role in ("deputy", "organizer") or not p.sees(code):
        raise Forbidden(f"{OUTSIDE}（{field}：{code}）")


def require_below(p: Principal, code: str, field: str = "jurisdiction") -> None:
    """Like ``require_inside``, but strictly below the caller's own code (registering sub-divisions)."""
    require_inside(p, code, field)
    if code == p.jurisdiction:
        raise Forbidden(f"只能登记本辖区之下的区划（{field}：{code}）。")


# -- lists ----------------------------------------------------------------------------------
def prefix_for(p: Principal, under: str | None) -> str | None:
    """The jurisdiction prefix a list shows: ``under`` narrowed to the caller's own, or None for nothing.

    ``under`` above the caller's code is the caller's own code (a county asking for the city sees
    its county); a foreign ``under`` shows nothing, not even a hint that it exists.
    """
    scope = p.jurisdiction
    if not under:
        return scope
    if under.startswith(scope):
        return under
    if scope.startswith(under):
        return scope
    return None


def visible_where(
    p: Principal,
    *,
    jurisdiction: Any,
    under: str | None = None,
    deputy: Any = None,
    lead_unit: Any = None,
    co_units: Any = None,
) -> ColumnElement[bool]:
    """SQL condition of the rows a list may show the caller; apply it before ``limit`` and the cursor.

    ``jurisdiction`` is the rows' jurisdiction column; ``deputy`` a column (or a condition builder
    ``lambda deputy_id: ...``) naming the row's deputy; ``lead_unit`` / ``co_units`` likewise for units.
    A role whose owning column the list lacks sees nothing.
    """
    if p.role in ("deputy", "organizer"):
        # Ownership decides for them (their own suggestion may lie in the county after escalation);
        # ``under`` only narrows.
        inside = jurisdiction.startswith(under, autoescape=True) if under else true()
    else:
        prefix = prefix_for(p, under)
        if prefix is None:
            return false()
        return cast(ColumnElement[bool], jurisdiction.startswith(prefix, autoescape=True))
    if p.role == "deputy":
        if deputy is None or not p.deputy_id:
            return false()
        own = deputy(p.deputy_id) if callable(deputy) else deputy == p.deputy_id
        return and_(own, inside)
    if p.role == "organizer":
        if (lead_unit is None and co_units is None) or not p.unit_id:
            return false()
        parts = []
        if lead_unit is not None:
            parts.append(lead_unit(p.unit_id) if callable(lead_unit) else lead_unit == p.unit_id)
        if co_units is not None:
            parts.append(co_units(p.unit_id) if callable(co_units) else co_units == p.unit_id)
        own = or_(*parts) if len(parts) > 1 else parts[0]
        return and_(own, inside)
    return false()


def everything() -> ColumnElement[bool]:
    return true()


def filter_visible(p: Principal, rows: Iterable[tuple[Scope, Any]]) -> list[Any]:
    """In-memory lists (rare: prefer ``visible_where``): keep only rows the caller may see."""
    return [row for scope, row in rows if can_see(p, scope)]


class Access:
    """The mechanism bound to one caller (``ctx.access`` on every command and query context)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def sees(self, scope: Scope) -> bool:
        return can_see(self.principal, scope)

    def require_visible(self, scope: Scope | None) -> None:
        require_visible(self.principal, scope)

    def require(self, scope: Scope | None, roles: Iterable[str], *, message: str | None = None) -> None:
        require_act(self.principal, scope, roles, message=message)

    def require_inside(self, code: str | None, field: str = "jurisdiction") -> None:
        require_inside(self.principal, code, field)

    def require_below(self, code: str, field: str = "jurisdiction") -> None:
        require_below(self.principal, code, field)

    def prefix(self, under: str | None) -> str | None:
        return prefix_for(self.principal, under)

    def where(self, **columns: Any) -> ColumnElement[bool]:
        return visible_where(self.principal, **columns)
