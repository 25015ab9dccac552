"""Random command runs keep the invariants of the suggestion aggregate."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from libs.domain.errors import DomainError
from libs.events.event import Event, registry
from services.suggestions.domain import revision
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AddAttachment,
    AssignSuggestion,
    EscalateSuggestion,
    EvaluateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    ReviseSuggestion,
    SendBackSuggestion,
    SetKeySupervision,
    SubmitSuggestion,
)
from services.suggestions.domain.rates import EvaluationRecord, SuggestionRecords, records_of, suggestion_rates
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import SatisfactionEvaluated

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=TZ)
S1, UNIT, LEAD, CO = "s-1", "u-1", "d-1", "d-2"
POLICIES = [SuggestionPolicy.parse(), SuggestionPolicy.parse(require_consultation="false")]
ACTIONS = (
    "assign",
    "assign",
    "acknowledge",
    "return",
    "send_back",
    "revise",
    "consult",
    "consult",
    "consult",
    "reply",
    "reply",
    "reply",
    "evaluate",
    "evaluate",
    "evaluate",
    "implement",
    "implement",
    "extend",
    "key",
    "justify",
    "attach",
    "merge",
    "escalate",
    "tick",
    "tick",
)  # merge and escalate end a run, so they act only one time in ten (see decide)
RESULTS = ("A", "B", "C")
SATISFACTIONS = ("satisfied", "basically_satisfied", "unsatisfied", "unsatisfied")
MODES = ("face_to_face", "phone", "online")


def decide(s: sg.Suggestion, action: str, k: int, now: datetime, policy: SuggestionPolicy) -> list[Event]:
    today = now.astimezone(TZ).date()
    match action:
        case "assign":
            c = AssignSuggestion(S1, UNIT, "张", complexity=("normal", "complex")[k % 2])
            return sg.decide_assign(s, c, now=now, policy=policy, is_street=False, actor_role="township_staff")
        case "acknowledge":
            return sg.decide_acknowledge(s, unit_id=UNIT, now=now)
        case "return":
            return sg.decide_return(s, ReturnSuggestion(S1, "不属于本单位"), unit_id=UNIT, now=now)
        case "send_back":
            c_back = SendBackSuggestion(S1, "内容过于简略")
            return revision.decide_send_back(s, c_back, now=now, is_street=False, actor_role="township_staff", tz=TZ)
        case "revise":
            c_rev = ReviseSuggestion(S1, title=f"修改后的标题 {k}")
            return revision.decide_revise(s, c_rev, deputy_id=(LEAD, CO)[k % 5 == 4], now=now)
        case "consult":
            c = RecordConsultation(S1, today, MODES[k % 3], "面商")  # type: ignore[arg-type]
            return sg.decide_consult(s, c, unit_id=UNIT, now=now, policy=policy)
        case "reply":
            result = RESULTS[k % 3]
            c = ReplyToSuggestion(S1, result, "答复", promised_by=today + timedelta(days=k), measures="m", reason="r")  # type: ignore[arg-type]
            return sg.decide_reply(s, c, unit_id=UNIT, now=now, policy=policy)
        case "evaluate":
            c = EvaluateSuggestion(S1, SATISFACTIONS[k % 4])  # type: ignore[arg-type]
            return sg.decide_evaluate(s, c, deputy_id=(LEAD, CO)[k % 5 == 4], now=now, policy=policy)
        case "implement":
            return sg.decide_implementation(
                s, RecordImplementation(S1, today, "落实"), unit_id=UNIT, now=now, policy=policy
            )
        case "extend":
            new_due = (s.due_at or now) + timedelta(days=k + 1)
            return sg.decide_extend(
                s, ExtendDeadline(S1, new_due, "批准"), now=now, is_street=False, actor_role="county_staff"
            )
        case "key":
            return sg.decide_key_supervision(
                s, SetKeySupervision(S1, "重点"), now=now, is_street=False, actor_role="county_staff"
            )
        case "justify":
            return sg.decide_justify_unsatisfied(s, JustifyUnsatisfied(S1, "有正当理由"), now=now)
        case "attach":
            return sg.decide_attachment(s, AddAttachment(S1, f"a-{k % 3}", "f.pdf", "", "b" * 64, k), now=now)
        case "merge" | "escalate" if k % 10:
            return sg.decide_due(s, now=now, policy=policy)
        case "merge":
            target = sg.Suggestion(id="s-2", status="submitted", jurisdiction=s.jurisdiction, deputy_ids=(CO,))
            return sg.decide_merge(s, MergeSuggestion(S1, "s-2", "同一事项"), target=target, now=now)
        case "escalate":
            return sg.decide_escalate(s, EscalateSuggestion(S1, "s-county", "超出职权"), now=now, is_street=False)
        case _:
            return sg.decide_due(s, now=now, policy=policy)


steps = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(min_value=0, max_value=200),
        st.one_of(
            st.integers(min_value=0, max_value=2 * 24 * 3600), st.integers(min_value=0, max_value=60 * 24 * 3600)
        ),
    ),
    max_size=40,
)


def run(plan: list[tuple[str, int, int]], policy: SuggestionPolicy):
    s = sg.Suggestion(id=S1)
    events = sg.decide_submit(s, SubmitSuggestion(S1, "340403001", "t", "c", (LEAD, CO)), now=T0, is_street=False)
    s = sg.SUGGESTION.replay(S1, events)
    events += decide(s, "assign", 0, T0, policy)  # most runs are about handling: start assigned
    s, now, history = sg.SUGGESTION.replay(S1, events), T0, [s]
    for action, k, seconds in plan:
        now += timedelta(seconds=seconds)
        try:
            new = decide(s, action, k, now, policy)
        except DomainError:
            continue  # a refusal changes nothing
        for e in new:
            s = sg.evolve(s, e)
        events += new
        history.append(s)
    return s, events, history, now


@settings(max_examples=300, deadline=None)
@given(plan=steps, which=st.integers(min_value=0, max_value=1))
def test_random_runs_keep_the_invariants(plan, which):
    policy = POLICIES[which]
    s, events, history, now = run(plan, policy)

    # at most one open deadline: only the last round may be unanswered, and only while it runs
    for state in history:
        unanswered = [r for r in state.rounds if r.replied_at is None]
        assert len(unanswered) <= 1
        assert not unanswered or unanswered[0] is state.rounds[-1]
        assert (state.due_at is not None) == (state.status in sg.OPEN)
        assert [r.number for r in state.rounds] == list(range(1, len(state.rounds) + 1))
        # sent back for revision: waiting for its deputy, with no deadline running
        assert state.revision_requested_at is None or (state.status == "submitted" and state.due_at is None)

    # closed is final
    statuses = [h.status for h in history]
    if "closed" in statuses:
        assert set(statuses[statuses.index("closed") :]) == {"closed"}

    # replaying the events, also through their stored JSON, rebuilds the same state
    assert sg.SUGGESTION.replay(S1, events) == s
    stored = [registry.decode(e.type_name, e.version, e.model_dump(mode="json")) for e in events]
    assert sg.SUGGESTION.replay(S1, stored) == s

    # a second watcher at the same moment decides nothing
    later = now + timedelta(days=400)
    for t in (now, later):
        first = sg.decide_due(s, now=t, policy=policy)
        for e in first:
            s = sg.evolve(s, e)
        assert sg.decide_due(s, now=t, policy=policy) == []

    # the rates stay in [0, 1]
    evaluations = [
        EvaluationRecord(S1, e.lead_unit_id, e.satisfaction, e.evaluated_at)
        for e in events
        if isinstance(e, SatisfactionEvaluated)
    ]
    records = SuggestionRecords.combine([records_of(s, evaluations)])
    for as_of in (now, later):
        for year in (None, 2026, 2027):
            for r in suggestion_rates(records, as_of=as_of, tz=TZ, year=year).values():
                assert 0 <= r["numerator"] <= r["denominator"]
                assert r["rate"] is None or 0 <= r["rate"] <= 1
