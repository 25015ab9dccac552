from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.events.event import Event, registry
from services.meetings.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotCurrentMember,
    NotForStreet,
    NotInvitee,
    QuorumNotMet,
    TallyExceedsPresent,
    VoteNotAllowed,
)
from services.meetings.domain.meeting import (
    MEETING,
    ChangeMeeting,
    HoldVote,
    Meeting,
    RecordAttendance,
    RecordSpeech,
    ScheduleMeeting,
    decide_adjourn,
    decide_cancel,
    decide_change,
    decide_convene,
    decide_record_attendance,
    decide_schedule,
    decide_speech,
    decide_vote,
    evolve,
    quorum_of,
)
from services.meetings.domain.minutes import minutes_sha256, render_minutes
from services.meetings.events import (
    AttendanceRecorded,
    MeetingAdjourned,
    MeetingChanged,
    MeetingConvened,
    ResolutionAdopted,
    VoteHeld,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 10, 8, 30, tzinfo=TZ)
M1 = "m-1"
TOWNSHIP = "340403001"


def ids(n: int, prefix: str = "d") -> tuple[str, ...]:
    return tuple(f"{prefix}{i:03d}" for i in range(n))


def schedule(kind: str = "congress_session", invitees: tuple[str, ...] = ids(41), **kw: object) -> ScheduleMeeting:
    fields: dict = {
        "meeting_id": M1,
        "kind": kind,
        "body": TOWNSHIP,
        "title": "第一次会议",
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=8),
        "venue": "镇政府会议室",
        "agenda": ("审议政府工作报告", "审议财政预算"),
        "invitee_ids": invitees,
        **kw,
    }
    return ScheduleMeeting(**fields)


def replay(events: list[Event]) -> Meeting:
    return MEETING.replay(M1, events)


def step(state: Meeting, events: list[Event]) -> Meeting:
    for e in events:
        state = evolve(state, e)
    return state


def scheduled(kind: str = "congress_session", invitees: tuple[str, ...] = ids(41), **kw: object) -> Meeting:
    return replay(decide_schedule(Meeting(M1), schedule(kind, invitees, **kw), is_street=False))


def with_present(m: Meeting, present: tuple[str, ...], members: frozenset[str]) -> Meeting:
    return step(m, decide_record_attendance(m, RecordAttendance(present=present), current_members=members))


def convened(members: int = 41, present: int = 41, kind: str = "congress_session") -> Meeting:
    everyone = ids(members)
    m = with_present(scheduled(kind, everyone), everyone[:present], frozenset(everyone))
    return step(m, decide_convene(m, members=frozenset(everyone), now=T0))


# --- scheduling -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["congress_session", "presidium_meeting"])
def test_streets_hold_no_sessions_or_presidium_meetings(kind: str) -> None:
    with pytest.raises(NotForStreet) as err:
        decide_schedule(Meeting(M1), schedule(kind), is_street=True)
    assert err.value.code == "not_for_street"


@pytest.mark.parametrize("kind", ["group_activity", "inspection", "special_report_hearing"])
def test_streets_may_hold_group_activities_and_inspections(kind: str) -> None:
    [e] = decide_schedule(Meeting(M1), schedule(kind, group_id="g1"), is_street=True)
    assert e.kind == kind and e.body == TOWNSHIP


@pytest.mark.parametrize("kind", ["congress_session", "presidium_meeting"])
def test_sessions_and_presidium_meetings_are_a_townships_by_the_kind_of_its_body(kind: str) -> None:
    with pytest.raises(NotForStreet):
        decide_schedule(Meeting(M1), schedule(kind), is_street=False, body_kind="street")
    with pytest.raises(InvalidInput) as err:
        decide_schedule(Meeting(M1), schedule(kind), is_street=False, body_kind="county")
    assert err.value.field == "body"
    [e] = decide_schedule(Meeting(M1), schedule(kind), is_street=False, body_kind="township")
    assert e.kind == kind


def test_a_group_activity_names_its_group() -> None:
    with pytest.raises(InvalidInput) as err:
        decide_schedule(Meeting(M1), schedule("group_activity"), is_street=False)
    assert err.value.field == "group_id"


def test_a_meeting_ends_after_it_starts() -> None:
    with pytest.raises(InvalidInput) as err:
        decide_schedule(Meeting(M1), schedule(ends_at=T0), is_street=False)
    assert err.value.field == "ends_at"


def test_scheduling_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        decide_schedule(scheduled(), schedule(), is_street=False)


def test_a_change_names_the_invitees_added_and_removed() -> None:
    given_ = scheduled(invitees=("a", "b"))
    [e] = decide_change(given_, ChangeMeeting(invitee_ids=("b", "c"), venue="村委会"))
    assert isinstance(e, MeetingChanged)
    assert (e.added_invitee_ids, e.removed_invitee_ids, e.venue, e.title) == (
        ("c",),
        ("a",),
        "村委会",
        "第一次会议",
    )
    assert decide_change(given_, ChangeMeeting(venue="镇政府会议室")) == []


def test_a_cancelled_meeting_cannot_change_and_cancelling_twice_changes_nothing() -> None:
    given_ = step(scheduled(), decide_cancel(scheduled(), reason="防汛"))
    assert given_.status == "cancelled"
    assert decide_cancel(given_) == []
    with pytest.raises(InvalidTransition):
        decide_change(given_, ChangeMeeting(venue="x"))


# --- attendance -----------------------------------------------------------------------------------


def test_attendance_lists_only_invitees() -> None:
    given_ = scheduled(invitees=("a", "b"))
    with pytest.raises(NotInvitee) as err:
        decide_record_attendance(given_, RecordAttendance(present=("a", "z")), current_members=frozenset("abz"))
    assert err.value.details == {"person_ids": ["z"]}


def test_a_deputy_who_left_before_the_meeting_date_cannot_attend() -> None:
    given_ = scheduled(invitees=("a", "b", "gone"))
    members_on_meeting_date = frozenset({"a", "b"})  # "gone" was terminated before the date
    with pytest.raises(NotCurrentMember) as err:
        decide_record_attendance(given_, RecordAttendance(absent=("gone",)), current_members=members_on_meeting_date)
    assert err.value.code == "not_current_member"


def test_a_deputy_who_joined_before_the_meeting_date_can_attend() -> None:
    given_ = scheduled(invitees=("a", "new"))
    [e] = decide_record_attendance(given_, RecordAttendance(present=("new",)), current_members=frozenset({"a", "new"}))
    assert isinstance(e, AttendanceRecorded) and e.present == ("new",)


def test_one_person_in_two_lists_is_refused() -> None:
    with pytest.raises(InvalidInput):
        decide_record_attendance(
            scheduled(invitees=("a",)),
            RecordAttendance(present=("a",), on_leave=("a",)),
            current_members=frozenset("a"),
        )


def test_recording_the_same_attendance_again_records_nothing() -> None:
    given_ = with_present(scheduled(invitees=("a", "b")), ("a",), frozenset("ab"))
    assert decide_record_attendance(given_, RecordAttendance(present=("a",)), current_members=frozenset("ab")) == []
    [e] = decide_record_attendance(given_, RecordAttendance(on_leave=("a",)), current_members=frozenset("ab"))
    assert step(given_, [e]).attendance == {"a": "on_leave"}


# --- quorum ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("members", "needed"), [(9, 6), (13, 9), (40, 27), (41, 28)])
@pytest.mark.parametrize("kind", ["congress_session", "presidium_meeting"])
def test_convening_needs_two_thirds_of_all_members(kind: str, members: int, needed: int) -> None:
    everyone = ids(members)
    given_ = with_present(scheduled(kind, everyone), everyone[:needed], frozenset(everyone))
    [e] = decide_convene(given_, members=frozenset(everyone), now=T0)
    assert isinstance(e, MeetingConvened)
    assert (e.present, e.members, e.needed) == (needed, members, needed)

    one_short = with_present(scheduled(kind, everyone), everyone[: needed - 1], frozenset(everyone))
    with pytest.raises(QuorumNotMet) as err:
        decide_convene(one_short, members=frozenset(everyone), now=T0)
    assert err.value.code == "quorum_not_met"
    assert err.value.details == {"present": needed - 1, "members": members, "needed": needed}


def test_deputies_who_left_before_the_meeting_date_do_not_count_as_members() -> None:
    # 41 elected, 2 left before the date, 1 by-elected before the date: 40 members, quorum 27
    members = frozenset((*ids(39), "by-elected"))
    given_ = with_present(scheduled(invitees=tuple(sorted(members))), (*ids(26), "by-elected"), members)
    assert quorum_of(given_, members).as_dict() == {"present": 27, "members": 40, "needed": 27}
    [e] = decide_convene(given_, members=members, now=T0)
    assert (e.present, e.members) == (27, 40)


def test_the_live_quorum_counts_members_only() -> None:
    given_ = with_present(
        scheduled(invitees=("a", "b", "c", "observer")), ("a", "observer"), frozenset("abc") | {"observer"}
    )
    assert quorum_of(given_, frozenset("abc")).as_dict() == {"present": 1, "members": 3, "needed": 2}


def test_a_congress_with_no_members_cannot_convene() -> None:
    with pytest.raises(QuorumNotMet):
        decide_convene(scheduled(invitees=()), members=frozenset(), now=T0)


def test_group_activities_convene_without_a_quorum() -> None:
    given_ = scheduled("group_activity", ("a", "b", "c"), group_id="g1")
    [e] = decide_convene(given_, members=None, now=T0)
    assert (e.present, e.members, e.needed) == (0, 3, 0)


def test_convening_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        decide_convene(convened(9, 6), members=frozenset(ids(9)), now=T0)


# --- votes ----------------------------------------------------------------------------------------


def test_a_tally_larger_than_those_present_is_refused_with_422() -> None:
    with pytest.raises(TallyExceedsPresent) as err:
        decide_vote(convened(41, 30), HoldVote(agenda_index=0, yes=21, no=5, abstain=5))
    assert (err.value.code, err.value.status) == ("tally_exceeds_present", 422)


def test_a_majority_of_those_present_is_not_a_majority_of_all() -> None:
    [vote] = decide_vote(convened(41, 30), HoldVote(agenda_index=0, yes=20, no=10, abstain=0))
    assert isinstance(vote, VoteHeld) and not vote.passed and vote.members == 41


def test_more_than_half_of_all_members_passes_and_adopts_a_resolution() -> None:
    vote, resolution = decide_vote(convened(41, 28), HoldVote(agenda_index=1, yes=21, no=0, abstain=7))
    assert isinstance(vote, VoteHeld) and vote.passed
    assert isinstance(resolution, ResolutionAdopted) and resolution.title == "审议财政预算"


def test_a_tie_does_not_pass() -> None:
    [vote] = decide_vote(convened(40, 40), HoldVote(agenda_index=0, yes=20, no=20, abstain=0))
    assert not vote.passed


@pytest.mark.parametrize(("yes", "abstain", "passed"), [(21, 6, True), (20, 7, False)])
def test_abstentions_count_against(yes: int, abstain: int, passed: bool) -> None:
    events = decide_vote(convened(40, 27), HoldVote(agenda_index=0, yes=yes, no=0, abstain=abstain))
    assert events[0].passed is passed and len(events) == (2 if passed else 1)


@pytest.mark.parametrize(("members", "yes", "passed"), [(9, 5, True), (9, 4, False), (13, 7, True), (13, 6, False)])
def test_presidium_motions_pass_by_more_than_half_of_its_members(members: int, yes: int, passed: bool) -> None:
    [vote, *_] = decide_vote(convened(members, members, "presidium_meeting"), HoldVote(0, yes, members - yes, 0))
    assert vote.passed is passed


def test_group_activities_hold_no_votes() -> None:
    given_ = scheduled("group_activity", ("a",), group_id="g1")
    given_ = step(given_, decide_convene(given_, members=None, now=T0))
    with pytest.raises(VoteNotAllowed):
        decide_vote(given_, HoldVote(0, 1, 0, 0))


def test_a_vote_needs_a_convened_meeting_and_a_real_agenda_item() -> None:
    with pytest.raises(InvalidTransition):
        decide_vote(scheduled(), HoldVote(0, 1, 0, 0))
    with pytest.raises(InvalidInput) as err:
        decide_vote(convened(9, 9), HoldVote(5, 1, 0, 0))
    assert err.value.field == "agenda_index"


# --- speeches and minutes ------------------------------------------------------------------------


def test_only_invitees_and_observers_speak() -> None:
    with pytest.raises(NotInvitee):
        decide_speech(convened(9, 9), RecordSpeech(speaker_id="stranger", summary="..."))
    [e] = decide_speech(convened(9, 9), RecordSpeech(speaker_id="d001", summary="建议增加道路养护资金", agenda_index=1))
    assert e.speaker_id == "d001"


def full_meeting() -> list[Event]:
    everyone = ids(13)
    events = decide_schedule(Meeting(M1), schedule("presidium_meeting", everyone), is_street=False)
    record = RecordAttendance(present=everyone[:10], on_leave=everyone[10:12], absent=everyone[12:])
    for decide in (
        lambda m: decide_record_attendance(m, record, current_members=frozenset(everyone)),
        lambda m: decide_convene(m, members=frozenset(everyone), now=T0 + timedelta(minutes=5)),
        lambda m: decide_speech(m, RecordSpeech("d000", "同意该报告", 0)),
        lambda m: decide_vote(m, HoldVote(0, 9, 1, 0)),
        lambda m: decide_vote(m, HoldVote(1, 6, 2, 2)),
        lambda m: decide_adjourn(m, notes="会议圆满完成各项议程。", now=T0 + timedelta(hours=3)),
    ):
        events += decide(replay(events))
    return events


def test_adjourning_generates_minutes_with_their_sha256() -> None:
    events = full_meeting()
    adjourned = events[-1]
    assert isinstance(adjourned, MeetingAdjourned)
    minutes = adjourned.minutes
    assert minutes["attendance"]["present"] == list(ids(13)[:10])
    assert minutes["attendance"]["on_leave"] == ["d010", "d011"] and minutes["attendance"]["absent"] == ["d012"]
    assert minutes["quorum"] == {"present": 10, "members": 13, "needed": 9}
    assert [(v["yes"], v["passed"]) for v in minutes["votes"]] == [(9, True), (6, False)]
    assert [r["title"] for r in minutes["resolutions"]] == ["审议政府工作报告"]
    assert adjourned.minutes_sha256 == minutes_sha256(minutes)
    assert adjourned.present_ids == ids(13)[:10]
    assert "未通过" in render_minutes(minutes)


def test_minutes_print_times_in_the_zone_given_with_its_offset() -> None:
    utc_given = replay(full_meeting()[:-1])  # scheduled in +08:00; T0 is Shanghai time
    [adjourned] = decide_adjourn(utc_given, now=(T0 + timedelta(hours=3)).astimezone(UTC), tz=TZ)
    minutes = adjourned.minutes  # type: ignore[attr-defined]
    assert minutes["starts_at"] == T0.isoformat() and minutes["starts_at"].endswith("+08:00")
    assert minutes["adjourned_at"] == (T0 + timedelta(hours=3)).isoformat()
    assert minutes["convened_at"].endswith("+08:00")


def test_minutes_and_their_hash_survive_a_round_trip_through_json() -> None:
    events = full_meeting()
    stored = [registry.decode(e.type_name, e.version, e.model_dump(mode="json")) for e in events]
    assert replay(stored) == replay(events)
    again = decide_adjourn(replay(stored[:-1]), notes="会议圆满完成各项议程。", now=T0 + timedelta(hours=3))
    assert again == [events[-1]]
    assert minutes_sha256(stored[-1].minutes) == events[-1].minutes_sha256


def test_nothing_happens_after_adjournment() -> None:
    final = replay(full_meeting())
    assert final.status == "adjourned"
    for refused in (
        lambda: decide_vote(final, HoldVote(0, 1, 0, 0)),
        lambda: decide_adjourn(final, now=T0),
        lambda: decide_record_attendance(
            final, RecordAttendance(present=("d000",)), current_members=frozenset(ids(13))
        ),
    ):
        with pytest.raises(InvalidTransition):
            refused()


# --- properties -----------------------------------------------------------------------------------

attend = st.tuples(st.just("attend"), st.integers(-1, 5), st.sampled_from(["present", "present", "on_leave"]))
vote = st.tuples(st.just("vote"), st.integers(0, 13), st.integers(0, 4), st.integers(0, 4))
speech = st.tuples(st.just("speech"), st.integers(0, 14))
before = st.lists(st.one_of(attend, st.just(("change",))), max_size=6)
during = st.lists(st.one_of(vote, speech, attend), max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 13), before, st.booleans(), during, st.booleans())
def test_replay_reproduces_the_state_and_votes_obey_the_rules(
    members: int, first: list[tuple], convene: bool, then: list[tuple], adjourn: bool
) -> None:
    script = [*first, *([("convene",)] if convene else []), *then, *([("adjourn",)] if adjourn else [])]
    everyone = ids(members)
    invitees = ids(15)  # two invitees are not members
    events = decide_schedule(Meeting(M1), schedule("presidium_meeting", invitees), is_street=False)
    state = replay(events)
    for cmd in script:
        try:
            match cmd:
                case ("attend", missing, status):
                    who = invitees[: max(0, members - missing)]  # -1 names a non-member: refused
                    new = decide_record_attendance(
                        state, RecordAttendance(**{status: who}), current_members=frozenset(everyone)
                    )
                case ("convene",):
                    new = decide_convene(state, members=frozenset(everyone), now=T0)
                case ("vote", yes, no, abstain):
                    new = decide_vote(state, HoldVote(0, yes, no, abstain))
                case ("speech", i):
                    new = decide_speech(state, RecordSpeech(invitees[i], "发言"))
                case ("adjourn",):
                    new = decide_adjourn(state, now=T0 + timedelta(hours=2))
                case _:
                    new = decide_change(state, ChangeMeeting(venue=f"会议室{len(events)}"))
        except DomainError:
            continue
        events += new
        state = step(state, new)
    assert replay(events) == state
    for e in events:
        if isinstance(e, MeetingConvened):
            assert e.present * 3 >= e.members * 2 and e.members == members
        if isinstance(e, VoteHeld):
            assert e.yes + e.no + e.abstain <= e.present <= e.members
            assert e.passed == (e.yes * 2 > members)
    if state.status == "adjourned":
        assert state.minutes_sha256 == minutes_sha256(dict(state.minutes or {}))
