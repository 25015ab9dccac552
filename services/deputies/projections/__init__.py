"""Read models of the deputies context, one module per subject.

- ``registry``: the jurisdiction tree; deputies, groups, presidiums, stations, contacts;
- ``directory``: user accounts and their roles (no credential);
- ``dossier``: the duty records behind the dossiers, from three contexts' published events.
"""

from services.deputies.projections.directory import Directory, directory_metadata, users
from services.deputies.projections.dossier import DutyRecords
from services.deputies.projections.registry import (
    DeputyRegistry,
    JurisdictionTree,
    contacts,
    deputies,
    groups,
    jurisdictions,
    presidiums,
    registry_metadata,
    stations,
    tree_metadata,
)

__all__ = [
    "DeputyRegistry",
    "Directory",
    "DutyRecords",
    "JurisdictionTree",
    "contacts",
    "deputies",
    "directory_metadata",
    "groups",
    "jurisdictions",
    "presidiums",
    "registry_metadata",
    "stations",
    "tree_metadata",
    "users",
]
