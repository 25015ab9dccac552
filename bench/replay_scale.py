"""replay at scale: every read model of every service rebuilt from a seeded history, vs a raw pull + insert.

``uv run python -m bench.replay --scale county`` (or ``city``, ``demo``) seeds once into a kept
folder (``--data DIR``, default ``var/bench-replay/``), reused by later runs, then per database
(SQLite, PostgreSQL) and in a process of its own each:

- ours: ``renda replay --all``'s code (``renda.cli.replay.replay_all``): every read model of every
  service from zero into fresh databases (SQLite: each service's own file, as deployed;
  PostgreSQL: one database), the services split across ``--jobs`` processes (default: the
  cores); events/s and the largest process's VmHWM;
- raw: a hand-driven pull consumer over the same streams, orjson decode and an executemany of
  one row per event, one commit per 1000 (``bench/replay.py``'s raw side).

Goal: ours ≥ 50 % of raw, VmHWM ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from rich.console import Console
from sqlalchemy.engine import make_url

from bench.common import Row, connect, rate_row, vm_status
from bench.replay import raw_batches
from libs.config.settings import Settings
from libs.runtime.nats_server import EmbeddedNats, free_port

GOAL = 0.50
MAX_MB = 300.0
RAW_DDL = (
    "CREATE TABLE raw_events (stream VARCHAR(40) NOT NULL, seq BIGINT NOT NULL, aggregate_id VARCHAR(80) NOT NULL, "
    "sequence INTEGER NOT NULL, type VARCHAR(80) NOT NULL, jurisdiction VARCHAR(12) NOT NULL, "
    "PRIMARY KEY (stream, seq))"
)


def store_folder(data: Path, scale: str) -> Path:
    return data / f"seed-{scale}"


def server(data: Path, scale: str) -> EmbeddedNats:
    """The scale's kept NATS store; one whose seeding never finished (no ``seeded.json``) starts over."""
    folder = store_folder(data, scale)
    if folder.exists() and not (folder / "seeded.json").exists():
        shutil.rmtree(folder)
    return EmbeddedNats(free_port(), folder / "nats").start()


def settings_for(data: Path, scale: str, nats_url: str) -> Settings:
    return Settings(data_dir=store_folder(data, scale) / "data", nats_url=nats_url)


async def ensure_seeded(data: Path, scale: str, nats_url: str) -> dict[str, Any]:
    """Seed ``scale`` once (seed 1) into the kept folder; later runs read the summary it left."""
    from renda.seed import seed

    marker = store_folder(data, scale) / "seeded.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    nc = await connect(nats_url)
    try:
        workers = 0 if scale in ("tiny", "demo") else 2
        summary = await seed(nc, settings_for(data, scale, nats_url), scale=scale, seed=1, workers=workers)
    finally:
        await nc.close()
    if summary.refused:
        raise RuntimeError(f"the rules refused {len(summary.refused)} planned steps")
    got: dict[str, Any] = {"events": summary.events, "minutes": summary.seconds / 60, "load": os.getloadavg()[0]}
    marker.write_text(json.dumps(got))
    return got


def projections(settings: Settings) -> list[Any]:
    """Every projection of every service, as ``renda replay`` finds them (renda/cli/projections.py)."""
    from renda.cli.projections import all_projections

    return [p for _service, p in all_projections(settings)]


def raw_row(context: str, seq: int, data: bytes) -> tuple[str, int, str, int, str, str]:
    b = orjson.loads(data)
    return (context, seq, b["aggregate_id"], b["sequence"], b["type"], b["jurisdiction"])


async def raw(nats_url: str, db_url: str, contexts: list[str]) -> int:
    """The baseline: a hand-driven pull over the same streams, orjson, executemany, commit per 1000."""
    nc = await connect(nats_url)
    n = 0
    try:
        u = make_url(db_url)
        if u.get_backend_name() == "sqlite":
            db = sqlite3.connect(str(u.database), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
                db.execute(f"PRAGMA {pragma}")
            db.execute(RAW_DDL)
            for context in contexts:
                async for batch in raw_batches(nc, context):
                    db.execute("BEGIN")
                    db.executemany(
                        "INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?)", [raw_row(context, s, d) for s, d in batch]
                    )
                    db.execute("COMMIT")
                    n += len(batch)
            db.close()
        else:
            conn = await asyncpg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False))
            await conn.execute(RAW_DDL)
            for context in contexts:
                async for batch in raw_batches(nc, context):
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO raw_events VALUES ($1, $2, $3, $4, $5, $6)",
                            [raw_row(context, s, d) for s, d in batch],
                        )
                    n += len(batch)
            await conn.close()
    finally:
        await nc.close()
    return n


def ours(settings: Settings, db_url: str, jobs: int | None) -> tuple[int, float, int]:
    """Every read model of every service from zero, as ``renda replay --all`` does.

    Returns the events read (each once), the largest process's VmHWM and the processes used.

    ``db_url`` may name ``{service}``: each service's own SQLite file.
    """
    from renda.cli.replay import Plan, replay_all

    shown = [time.perf_counter()]

    def planned(split: Plan) -> None:
        print(f"  processes: {split.groups}", file=sys.stderr, flush=True)

    def progress(index: int, stream: str, seq: int, head: int) -> None:
        if time.perf_counter() - shown[0] > 30:
            shown[0] = time.perf_counter()
            print(f"  process {index + 1}: {stream} {seq:,}/{head:,}", file=sys.stderr, flush=True)

    results = replay_all(settings, jobs=jobs, database_url=db_url, on_plan=planned, on_progress=progress)
    for i, r in enumerate(results, 1):
        print(f"  process {i} {r.services}: {r.seconds:.1f} s, {r.vmhwm_mb:.0f} MB", file=sys.stderr, flush=True)
    events: dict[str, int] = {}
    for r in results:  # each process reads the streams its read models need: count each event once
        for stream, n in r.events.items():
            events[stream] = max(events.get(stream, 0), n)
    return sum(events.values()), max(r.vmhwm_mb for r in results), len(results)


def worker(args: argparse.Namespace) -> None:
    """One side in a process of its own: prints events, seconds and VmHWM as one JSON line.

    The raw side imports no service (its process stays as small as a hand-written loop's); ours
    runs ``renda replay --all``'s code whole, its processes' start included.
    """
    if args.side == "raw":
        started = time.perf_counter()
        n = asyncio.run(raw(args.nats, args.db_url, args.contexts.split(",")))
        print(json.dumps({"events": n, "seconds": time.perf_counter() - started, **vm_status()}), flush=True)
    else:
        started = time.perf_counter()
        n, largest, processes = ours(settings_for(args.data, args.scale, args.nats), args.db_url, args.jobs)
        seconds = time.perf_counter() - started
        mine = vm_status()
        got = {"events": n, "seconds": seconds, **mine, "VmHWM": max(largest, mine["VmHWM"]), "processes": processes}
        print(json.dumps(got), flush=True)


def run_side(
    side: str, data: Path, scale: str, nats_url: str, db_url: str, contexts: list[str], jobs: int | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.replay_scale", "--worker", side, "--data", str(data), "--scale", scale]
    cmd += ["--contexts", ",".join(contexts), *(["--jobs", str(jobs)] if jobs else [])]
    out = subprocess.run(
        [*cmd, "--nats", nats_url, "--db-url", db_url],
        check=True,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(data: Path, scale: str, databases: list[str], console: Console, jobs: int | None = None) -> list[Row]:
    from tests.support.postgres import postgres

    rows: list[Row] = []
    srv = server(data, scale)
    try:
        seeded = asyncio.run(ensure_seeded(data, scale, srv.url))
        console.print(f"[dim]seed {scale}: {seeded}[/dim]")
        read_models = projections(settings_for(data, scale, srv.url))
        contexts = list(dict.fromkeys(c for p in read_models for c in p.contexts))
        console.print(f"[dim]{len(read_models)} read models of every service, streams of {contexts}[/dim]")
        with contextlib.ExitStack() as stack:
            for db in databases:
                if db == "sqlite":
                    folder = store_folder(data, scale) / "replay"
                    folder.mkdir(exist_ok=True)
                    for old in folder.glob("*.sqlite3*"):
                        old.unlink()
                    raw_url = f"sqlite:///{folder / 'raw.sqlite3'}"
                    our_url = f"sqlite+aiosqlite:///{folder}/ours-{{service}}.sqlite3"  # each service's own
                else:
                    pg = stack.enter_context(postgres())
                    raw_url, our_url = stack.enter_context(pg.database()), stack.enter_context(pg.database())
                load_before = os.getloadavg()
                r = run_side("raw", data, scale, srv.url, raw_url, contexts)
                o = run_side("ours", data, scale, srv.url, our_url, contexts, jobs)
                load_after = os.getloadavg()
                name = "SQLite" if db == "sqlite" else "PostgreSQL"
                row = rate_row(
                    f"replay --scale {scale}: every read model → {name} (events/s)",
                    o["events"] / o["seconds"],
                    r["events"] / r["seconds"],
                    GOAL,
                    "raw hand-driven pull of the same streams + orjson + executemany of one row, commit per 1000",
                    f"ours (renda replay --all, {o['processes']} processes) {o['events']:,} events in"
                    f" {o['seconds']:.1f} s, raw (one process) {r['events']:,} in {r['seconds']:.1f} s;"
                    f" load average {load_before[0]:.2f} → {load_after[0]:.2f}",
                    events=o["events"],
                    seconds=o["seconds"],
                    raw_seconds=r["seconds"],
                    vmhwm=o["VmHWM"],
                    raw_vmhwm=r["VmHWM"],
                    load_before=load_before,
                    load_after=load_after,
                )
                rows.append(row)
                rows.append(
                    Row(
                        f"replay --scale {scale}: replaying process → {name} (VmHWM)",
                        o["VmHWM"],
                        r["VmHWM"],
                        "MB",
                        f"<= {MAX_MB:.0f} MB",
                        None,
                        o["VmHWM"] <= MAX_MB,
                        "the raw side's process",
                        f"VmRSS at the end {o['VmRSS']:.0f} MB",
                    )
                )
                console.print(_line(rows[-2]))
                console.print(_line(rows[-1]))
    finally:
        srv.stop()
    return rows


def each(data: Path, scale: str, console: Console) -> list[dict[str, Any]]:
    """``renda replay NAME`` of every read model alone (SQLite), against the raw side over the same streams.

    The raw side runs once per stream (its own process each); a read model's raw time is the sum
    over the streams it reads. Ours runs in this process, one fresh file per read model.
    """
    from libs.db.engine import make_engine
    from libs.events.projection import rebuild
    from libs.observability.logging import configure

    configure("WARNING")
    srv = server(data, scale)
    out: list[dict[str, Any]] = []
    try:
        asyncio.run(ensure_seeded(data, scale, srv.url))
        read_models = projections(settings_for(data, scale, srv.url))
        folder = store_folder(data, scale) / "replay-each"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        raw_seconds: dict[str, float] = {}
        for context in dict.fromkeys(c for p in read_models for c in p.contexts):
            r = run_side("raw", data, scale, srv.url, f"sqlite:///{folder / f'raw-{context}.sqlite3'}", [context])
            raw_seconds[context] = r["seconds"]

        async def one(projection: Any, url: str) -> int:
            engine = make_engine(url)
            nc = await connect(srv.url)
            try:
                return sum((await rebuild(nc, engine, projection)).values())
            finally:
                await nc.close()
                await engine.dispose()

        for p in read_models:
            started = time.perf_counter()
            n = asyncio.run(one(p, f"sqlite+aiosqlite:///{folder / (p.name + '.sqlite3')}"))
            seconds = time.perf_counter() - started
            raw = sum(raw_seconds[c] for c in p.contexts)
            got = {"read_model": p.name, "events": n, "seconds": seconds, "raw_seconds": raw, "ratio": raw / seconds}
            out.append(got)
            console.print(
                f"{p.name}: {n:,} events in {seconds:.1f} s, raw over its streams {raw:.1f} s: "
                f"{got['ratio']:.0%}; load {os.getloadavg()[0]:.2f}"
            )
    finally:
        srv.stop()
    return out


def _line(row: Row) -> str:
    verdict = "—" if row.passed is None else ("passed True" if row.passed else "passed False")
    if row.unit == "MB":
        return f"{row.name}: {row.ours:,.0f} MB (raw {row.raw:,.0f} MB), goal {row.goal}: {verdict}; {row.notes}"
    ratio = f"{row.ratio:.0%}" if row.ratio is not None else "—"
    return (
        f"{row.name}: ours {row.ours:,.0f}/s, raw {row.raw:,.0f}/s, ratio {ratio}, goal {row.goal}: {verdict}; "
        f"{row.notes}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__)
    parser.add_argument("--scale", default="county", choices=("tiny", "demo", "county", "city"))
    parser.add_argument("--data", type=Path, default=Path("var/bench-replay"), help="kept seeded stores")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed-only", action="store_true", help="seed the scale into --data, nothing else")
    parser.add_argument("--jobs", type=int, help="processes of renda replay --all (default: the cores)")
    parser.add_argument("--each", action="store_true", help="every read model alone (renda replay NAME), SQLite")
    parser.add_argument("--worker", choices=("raw", "ours"), dest="side", help=argparse.SUPPRESS)
    parser.add_argument("--nats", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--contexts", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data = args.data.resolve()
    if args.side:
        worker(args)
        return 0
    console = Console(width=160)
    if args.seed_only:
        srv = server(args.data, args.scale)
        try:
            console.print(asyncio.run(ensure_seeded(args.data, args.scale, srv.url)))
        finally:
            srv.stop()
        return 0
    if args.each:
        alone = each(args.data, args.scale, console)
        results = store_folder(args.data, args.scale) / f"replay-each-{int(time.time())}.json"
        results.write_text(json.dumps(alone, indent=1))
        console.print(f"[dim]written to {results}[/dim]")
        return 0
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = measure(args.data, args.scale, databases, console, args.jobs)
    results = store_folder(args.data, args.scale) / f"replay-{int(time.time())}.json"
    results.write_text(json.dumps([r.json() for r in rows], indent=1))
    console.print(f"[dim]rows written to {results}[/dim]")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
