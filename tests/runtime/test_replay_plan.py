"""How ``renda replay --all`` splits the services across processes (renda/cli/replay.py's ``plan``)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import MetaData

from libs.events.projection import Projection
from renda.cli.replay import plan, weigh


def read_model(name: str, contexts: tuple[str, ...], handles: tuple[str, ...] = ()) -> Projection:
    klass = type(
        name,
        (Projection,),
        {"name": name, "contexts": contexts, "metadata": MetaData(), "handles": handles},
    )
    p: Projection = klass()
    return p


SAMPLES = {
    # the deputies stream is mostly duty activities; suggestions are a tenth of it
    "deputies": (100_000, Counter({"DutyActivityRecorded": 90, "DeputyRegistered": 10})),
    "suggestions": (10_000, Counter({"SuggestionSubmitted": 50, "SuggestionAssigned": 50})),
}
SERVICES: dict[str, list[Projection]] = {
    "deputies": [read_model("d-dossier", ("deputies",), ("DutyActivityRecorded",))],
    "supervision": [read_model("s-duty", ("deputies",), ("DutyActivityRecorded",))],
    "suggestions": [read_model("g-lists", ("suggestions",)), read_model("g-ref", ("deputies",), ("DeputyRegistered",))],
    "workbench": [read_model("w-ref", ("deputies",), ("DeputyRegistered",))],
}
POSTGRES = dict.fromkeys(SERVICES, "postgresql+asyncpg://db/renda")


def test_a_read_model_weighs_what_it_reads_and_what_it_takes() -> None:
    dossier = weigh(SERVICES["deputies"], SAMPLES)
    reference = weigh(SERVICES["workbench"], SAMPLES)
    everything = weigh([read_model("all", ("deputies",))], SAMPLES)
    assert reference < dossier < everything
    assert dossier == 100_000 * 0.5 + 90_000
    assert reference == 100_000 * 0.5 + 10_000


def test_the_heaviest_services_go_to_different_processes() -> None:
    split = plan(SERVICES, POSTGRES, SAMPLES, jobs=2)
    assert len(split.groups) == 2
    assert sorted(s for g in split.groups for s in g) == sorted(SERVICES)
    (one,) = [g for g in split.groups if "deputies" in g]
    assert "supervision" not in one
    assert plan(SERVICES, POSTGRES, SAMPLES, jobs=1).groups == [list(SERVICES)]
    assert len(plan(SERVICES, POSTGRES, SAMPLES, jobs=8).groups) == len(SERVICES)


def test_services_sharing_one_sqlite_file_share_a_process() -> None:
    one_file = dict.fromkeys(SERVICES, "sqlite+aiosqlite:////var/renda/all.sqlite3")
    assert plan(SERVICES, one_file, SAMPLES, jobs=4).groups == [list(SERVICES)]
    own_files = {s: f"sqlite+aiosqlite:////var/renda/db/{s}.sqlite3" for s in SERVICES}
    assert len(plan(SERVICES, own_files, SAMPLES, jobs=4).groups) == 4


def test_a_halt_in_a_replay_process_reaches_the_parent_whole() -> None:
    """The pool pickles what a process raises: the projection and its halt must survive it."""
    import pickle
    from datetime import UTC, datetime

    from libs.events.projection import ProjectionHalted
    from libs.events.projection.checkpoints import Halt

    halt = Halt("RENDA_SUGGESTIONS", 42, "renda.suggestions.x: cannot decode X v9", datetime.now(UTC))
    again = pickle.loads(pickle.dumps(ProjectionHalted("suggestions-lists", halt)))
    assert isinstance(again, ProjectionHalted)
    assert (again.projection, again.halt) == ("suggestions-lists", halt)
