"""Every aggregate type of the services: a state folded from its events survives a snapshot exactly.

The store folds events decoded from the stream, so the states here are folded from events that
went through JSON as stored; a snapshot must give back an equal state. Each type has a realistic
history below (a new aggregate type without one fails ``test_every_aggregate_type_has_a_history``),
and Hypothesis adds random sequences of the type's own events, every field type included.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import typing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.event import Event, registry
from tests.events.histories_contexts import (
    constituent_opinion,
    joint_inspection,
    meeting,
    organizer_unit,
    review_opinion,
    suggestion,
)
from tests.events.histories_deputies import deputy, deputy_group, jurisdiction, liaison_station, presidium, user

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=TZ)
DAY = timedelta(days=1)
TOWN, COUNTY = "340403100", "340403"


def service_aggregate_types() -> dict[str, AggregateType[Any]]:
    """Every ``AggregateType`` declared in a module of services/*/domain."""
    found: dict[str, AggregateType[Any]] = {}
    for service in sorted(p.name for p in (ROOT / "services").iterdir() if (p / "domain").is_dir()):
        package = importlib.import_module(f"services.{service}.domain")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"services.{service}.domain.{info.name}")
            for value in vars(module).values():
                if isinstance(value, AggregateType):
                    found[value.name] = value
    return found


AGGREGATES = service_aggregate_types()


def stored(e: Event) -> Event:
    """The event as a load reads it back: through JSON and the registry."""
    return registry.decode(e.type_name, e.version, orjson.loads(orjson.dumps(e.model_dump(mode="json"))))


def fold(agg: AggregateType[Any], aggregate_id: str, events: list[Event]) -> Any:
    state = agg.initial(aggregate_id)
    for e in events:
        state = agg.evolve(state, stored(e))
    return state


def through_snapshot(agg: AggregateType[Any], aggregate_id: str, state: Any) -> Any:
    codec = snap.build_codec(agg)
    taken = snap.Snapshot(7, 70, "h" * 64, TOWN, ("c1", "c2"), state)
    back = snap.decode(agg, codec, aggregate_id, snap.encode(agg, codec, aggregate_id, taken))
    assert (back.version, back.last_stream_seq, back.last_hash, back.causations) == (7, 70, "h" * 64, ("c1", "c2"))
    return back.state


# -- realistic histories, one per aggregate type (tests/events/histories_*.py) ---------------------
HISTORIES = {
    "deputy": deputy,
    "user": user,
    "deputy_group": deputy_group,
    "jurisdiction": jurisdiction,
    "presidium": presidium,
    "liaison_station": liaison_station,
    "joint_inspection": joint_inspection,
    "meeting": meeting,
    "review_opinion": review_opinion,
    "constituent_opinion": constituent_opinion,
    "suggestion": suggestion,
    "organizer_unit": organizer_unit,
}
IDS = {"jurisdiction": TOWN, "presidium": TOWN, "user": "wang-xiuying"}


def test_every_aggregate_type_has_a_history() -> None:
    assert len(AGGREGATES) >= 12
    assert sorted(AGGREGATES) == sorted(HISTORIES)


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_a_realistic_state_survives_a_snapshot_exactly(name: str) -> None:
    agg = AGGREGATES[name]
    assert agg.snapshot_every > 0  # every type of the services is snapshotted
    aggregate_id = IDS.get(name, f"{name}-1")
    events = HISTORIES[name](aggregate_id)
    state = fold(agg, aggregate_id, events)
    assert state != agg.initial(aggregate_id)
    assert through_snapshot(agg, aggregate_id, state) == state
    # The state this process folds from the events it has just decided encodes the same way.
    fresh = agg.replay(aggregate_id, events)
    assert through_snapshot(agg, aggregate_id, fresh) == state


# -- any sequence of the type's own events -----------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(TZ))


def _has_any(annotation: Any) -> bool:
    return annotation is Any or any(_has_any(a) for a in typing.get_args(annotation))


def event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    """Hypothesis's own strategy for the class, with JSON values where the schema says ``Any``."""
    free = {
        n: st.dictionaries(st.text(max_size=5), JSON, max_size=4)
        for n, f in cls.model_fields.items()
        if _has_any(f.annotation)
    }
    aware = {n: AWARE for n, f in cls.model_fields.items() if f.annotation is datetime}
    return st.builds(cls, **{**aware, **free}) | st.builds(cls, **free)


def events_of(agg: AggregateType[Any]) -> list[type[Event]]:
    """The event classes the module of ``evolve`` names (what its ``match`` can see)."""
    names = agg.evolve.__globals__.values()  # type: ignore[attr-defined]
    return sorted(
        {v for v in names if inspect.isclass(v) and issubclass(v, Event) and v is not Event}, key=lambda c: c.__name__
    )


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_any_sequence_of_the_types_events_survives_a_snapshot(name: str) -> None:
    agg = AGGREGATES[name]
    classes = events_of(agg)
    assert classes

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of([event_strategy(c) for c in classes]), min_size=1, max_size=8))
    def check(events: list[Event]) -> None:
        state = agg.initial("a-1")
        for e in events:
            try:
                read = stored(e)
            except TypeError:
                reject()  # an integer JSON cannot hold: the store could not have stored it either
            try:
                state = agg.evolve(state, read)
            except Exception:  # an order the commands never produce; keep the state so far
                break
        assert through_snapshot(agg, "a-1", state) == state

    check()


# -- the fingerprint --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plain:
    id: str
    n: int = 0


@dataclass(frozen=True)
class Wider:
    id: str
    n: int = 0
    more: tuple[str, ...] = ()


def _evolve(s: Plain, e: Event) -> Plain:
    return replace(s, n=s.n + 1)


def _evolve_other(s: Plain, e: Event) -> Plain:
    return replace(s, n=s.n + 2)


def test_the_fingerprint_changes_with_the_state_the_fold_or_the_snapshot_version() -> None:
    plain = AggregateType("plain", "notify", lambda i: Plain(id=i), _evolve)
    fp = snap.build_codec(plain).fingerprint
    assert snap.build_codec(AggregateType("plain", "notify", lambda i: Plain(id=i), _evolve)).fingerprint == fp
    assert snap.build_codec(replace(plain, snapshot_version=2)).fingerprint != fp
    assert snap.build_codec(replace(plain, initial=lambda i: Wider(id=i))).fingerprint != fp
    assert snap.build_codec(replace(plain, evolve=_evolve_other)).fingerprint != fp
    assert snap.build_codec(replace(plain, snapshot_every=3)).fingerprint == fp  # how often is not what


def test_the_fingerprint_is_the_same_in_every_process() -> None:
    """Set constants in ``evolve`` are hashed in sorted order: PYTHONHASHSEED must not matter."""
    script = (
        "from tests.events.test_snapshot_codec import AGGREGATES\n"
        "from libs.events.snapshots import build_codec\n"
        "print(','.join(build_codec(a).fingerprint for _, a in sorted(AGGREGATES.items())))\n"
    )
    out = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    here = ",".join(snap.build_codec(a).fingerprint for _, a in sorted(AGGREGATES.items()))
    assert out == {here}
