"""The read models of the joint-supervision view, from the published events of every context.

- ``SuggestionFacts`` (suggestions stream), ``MeetingFacts`` (meetings stream), ``DutyFacts``
  (deputies stream: duty activities and when things became known); deputies, presidiums and
  groups come from ``libs/reference/deputies.py``.

Each applies a batch in memory and writes it in bulk (``rows.py``).
"""

from services.supervision.projections.duty import DutyFacts
from services.supervision.projections.meetings import MeetingFacts
from services.supervision.projections.suggestions import STATUS_OF, SuggestionFacts

__all__ = ["STATUS_OF", "DutyFacts", "MeetingFacts", "SuggestionFacts"]
