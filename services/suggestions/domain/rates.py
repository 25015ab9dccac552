"""One suggestion's records for the figures of domain.md "Exact definitions".

The figures themselves are counted in ``libs/figures/rates.py``, the one definition shared by
this context's ``/rates`` and the joint-supervision view.
"""

from __future__ import annotations

from collections.abc import Iterable

from libs.figures.rates import *  # noqa: F403  (the one definition, re-exported for this context)
from libs.figures.rates import EvaluationRecord, PromiseRecord, ReplyRecord, RoundRecord, SuggestionRecords
from services.suggestions.domain.state import Suggestion


def records_of(s: Suggestion, evaluations: Iterable[EvaluationRecord] = ()) -> SuggestionRecords:
    """The records of one suggestion's state (evaluation times are not kept in the state: pass them)."""
    return SuggestionRecords(
        rounds=tuple(RoundRecord(s.id, r.number, r.due_at, r.replied_at) for r in s.rounds),
        replies=tuple(
            ReplyRecord(s.id, r.number, r.result, r.replied_at, r.consultation_modes)
            for r in s.rounds
            if r.replied_at is not None and r.result is not None
        ),
        evaluations=tuple(evaluations),
        promises=tuple(
            PromiseRecord(s.id, p.round, p.promised_by, p.carried_out_on) for p in s.promises if not p.superseded
        ),
        justified_ids=frozenset({s.id}) if s.justified else frozenset(),
    )
