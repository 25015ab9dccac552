"""Every event of a suggestion's life reads in Chinese wherever its history is shown, and a result
category reads the same on the dashboard and the workbench (the rule book's words)."""

from __future__ import annotations

import inspect

from services.suggestions import events as sg
from services.supervision.details import EVENT_ZH, RESULT_ZH
from services.workbench.web import labels as wb


def _suggestion_events() -> list[str]:
    return [
        name
        for name, cls in inspect.getmembers(sg, inspect.isclass)
        if issubclass(cls, sg.Event)
        and cls is not sg.Event
        and "suggestion_id" in cls.model_fields
        and "opinion_id" not in cls.model_fields  # an opinion's own events: not in a suggestion's history
    ]


def test_every_suggestion_event_has_a_chinese_name_on_the_dashboard() -> None:
    names = _suggestion_events()
    assert "SuggestionSentBack" in names and "SuggestionAssigned" in names
    assert [n for n in names if n not in EVENT_ZH] == []


def test_result_categories_read_the_same_on_the_dashboard_and_the_workbench() -> None:
    assert RESULT_ZH == wb.RESULT
