"""Read models of the suggestions context, one module per model; tables in ``tables.py``.

- ``lists.py``: units, suggestions and opinions as the lists show them;
- ``due.py``: what falls due when, for the deadline watcher;
- ``rates.py``: the facts the rates are counted from;
- ``meetings.py``: where each meeting lies (the meetings' published events);
- ``reference.py``: the deputies' facts (the deputies' published events).

Projections read only events: no clock, no other service's tables.
"""

from __future__ import annotations

from libs.config.settings import Settings
from libs.events.projection import Projection
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.projections.due import DueIndex
from services.suggestions.projections.lists import SuggestionLists
from services.suggestions.projections.meetings import MeetingPlaces
from services.suggestions.projections.rates import RateRecords
from services.suggestions.projections.reference import ref, reference

__all__ = ["DueIndex", "MeetingPlaces", "RateRecords", "SuggestionLists", "all_projections", "ref", "reference"]


def all_projections(settings: Settings) -> list[Projection]:
    return [
        reference,
        SuggestionLists(),
        DueIndex(SuggestionPolicy.from_settings(settings)),
        RateRecords(),
        MeetingPlaces(),
    ]
