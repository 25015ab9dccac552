"""How the access matrix exercises each route: an inside and an outside request per role.

Every (method, path) of every service must have a case here, or the matrix test fails and
names the route: a new route cannot escape. The expected status comes from the route's own
declared rule (``access_roles``: a role not listed → 403, no token → 401) and from the case's
kind for the roles it admits (see ``matrix_core``).

A case for a new route: add an entry to its service's ``CASES`` (``matrix_deputies``,
``matrix_meetings``, ``matrix_suggestions``) and, if it needs records, seed them in that
module's ``seed`` (real events through the ``EventStore``, or HTTP as a staff user).
"""

from __future__ import annotations

from libs.auth.actor import ROLES
from renda.matrix import RouteRule
from tests.auth import (
    matrix_contact,
    matrix_deputies,
    matrix_imports,
    matrix_meetings,
    matrix_notify,
    matrix_revision,
    matrix_suggestions,
    matrix_supervision,
)
from tests.auth.matrix_core import WHERES, Case, Probe, Public, World

__all__ = ["CASES", "ROLES_AND_ANONYMOUS", "SEEDS", "WHERES", "World", "case_for", "role_only_case"]

CASES: dict[tuple[str, str], Case] = {
    **matrix_deputies.CASES,
    **matrix_meetings.CASES,
    **matrix_suggestions.CASES,
    **matrix_supervision.CASES,
    **matrix_notify.CASES,
    **matrix_revision.CASES,
    **matrix_imports.CASES,
    **matrix_contact.CASES,
}
SEEDS = (matrix_deputies.seed, matrix_meetings.seed, matrix_suggestions.seed, matrix_revision.seed)


def role_only_case(rule: RouteRule) -> Case:
    """For a route without a case: only the cells that need no record (401 anonymous, 403 other roles)."""
    path = rule.path.replace("{", "matrix-").replace("}", "")
    return Case(lambda w, role, where: Probe(rule.method, path, json={}), success=0, kind="role-only")


def case_for(rule: RouteRule) -> Case | None:
    if rule.kind == "ops":  # health, readiness, metrics: added by create_app itself, public by design
        return Public(lambda w, role, where: Probe("GET", rule.path))
    return CASES.get((rule.method, rule.path))


ROLES_AND_ANONYMOUS: tuple[str | None, ...] = (*ROLES, None)
