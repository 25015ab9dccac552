"""The same seed gives the same history: event ids and hashes, aggregate by aggregate, whichever
way it is written (atomic batches, or one ``EventStore.append`` per command with many in flight);
a store that holds data is refused unless ``--force``, and re-running the same seed with it adds
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.events.envelope import verify_chain
from libs.runtime.nats_server import EmbeddedNats, free_port
from renda.seed import SeedRefused
from tests.seed.support import chains, seed_into, stored


async def test_same_seed_same_ids_and_hashes_batched_or_not(fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    keys = tmp_path / "data"  # the writers' keys: key ids are part of what is hashed
    first = await seed_into(fresh_nats.url, keys)
    assert first.refused == []
    assert first.events > 500 and first.aggregates > 100
    second_server = EmbeddedNats(free_port(), tmp_path / "nats-2").start()
    third_server = EmbeddedNats(free_port(), tmp_path / "nats-3").start()
    try:
        second = await seed_into(second_server.url, keys)
        per_command = await seed_into(third_server.url, keys, batched=False, lanes=16)
        a, b, c = [chains(await stored(s.url)) for s in (fresh_nats, second_server, third_server)]
    finally:
        second_server.stop()
        third_server.stop()
    assert (second.events, second.digest) == (first.events, first.digest)
    assert a == b
    assert c == a  # EventStore.append, 16 aggregates in flight: the very same events
    assert per_command.refused == []
    assert sum(len(v) for v in a.values()) == first.events == first.stored


async def test_another_seed_another_history(fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    other = EmbeddedNats(free_port(), tmp_path / "nats-2").start()
    try:
        await seed_into(fresh_nats.url, tmp_path / "data", seed_value=1)
        await seed_into(other.url, tmp_path / "data", seed_value=2)
        a, b = chains(await stored(fresh_nats.url)), chains(await stored(other.url))
    finally:
        other.stop()
    ids_a = {i for chain in a.values() for i, _ in chain}
    ids_b = {i for chain in b.values() for i, _ in chain}
    assert ids_a.isdisjoint(ids_b)


async def test_every_chain_is_whole(fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    await seed_into(fresh_nats.url, tmp_path / "data")
    bodies = await stored(fresh_nats.url)
    problems = [p for envs in bodies.values() for p in verify_chain(envs)]
    assert problems == []
    kinds = {b["type"] for envs in bodies.values() for b in envs}
    # the paths of the rule book the tiny scale always walks
    for kind in (
        "SuggestionAssigned",
        "ConsultationHeld",
        "SuggestionReplied",
        "SatisfactionEvaluated",
        "SuggestionClosed",
        "ReplyReminderDue",
        "MeetingConvened",
        "VoteHeld",
        "ResolutionAdopted",
        "MeetingAdjourned",
        "JointInspectionLaunched",
        "InspectionFindingRecorded",
        "DeputyTerminated",
        "PresidiumFormed",
        "DeputyGroupFormed",
        "DutyActivityRecorded",
        "OrganizerUnitRegistered",
        "ReviewOpinionSent",
    ):
        assert kind in kinds, kind


async def test_a_store_with_data_is_refused_unless_forced(fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    first = await seed_into(fresh_nats.url, tmp_path / "data")
    with pytest.raises(SeedRefused) as refused:
        await seed_into(fresh_nats.url, tmp_path / "data")
    assert "--force" in str(refused.value) and "已有" in str(refused.value)
    again = await seed_into(fresh_nats.url, tmp_path / "data", force=True, lanes=32)
    assert again.stored == 0  # the same seed again: every aggregate is there already, nothing is added
    assert again.skipped > 0
    assert sum(len(v) for v in (await stored(fresh_nats.url)).values()) == first.events
