"""Reads of the deputies context, always scoped to the caller's jurisdiction, one module per subject:
``registry`` (tree, deputies, groups, presidium, stations), ``dossier`` (duty records and township
figures), ``directory`` (accounts), ``units`` (organizer units, from the suggestions' events)."""

from services.deputies.queries.directory import all_users, users_under
from services.deputies.queries.registry import (
    central_group,
    deputies_list,
    deputy,
    deputy_names,
    group,
    groups_list,
    jurisdiction_names,
    jurisdictions_under,
    presidium,
    station,
    station_view,
    stations_list,
)

__all__ = [
    "all_users",
    "central_group",
    "deputies_list",
    "deputy",
    "deputy_names",
    "group",
    "groups_list",
    "jurisdiction_names",
    "jurisdictions_under",
    "presidium",
    "station",
    "station_view",
    "stations_list",
    "users_under",
]
