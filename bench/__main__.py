"""``uv run python -m bench [--quick] [--only NAME ...]``: every benchmark of issue 3, one table, JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import platform
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from bench import (
    append,
    audit,
    decisions,
    http,
    load,
    memory,
    notify,
    peer,
    replay,
    seed_scale,
    suggestions,
    supervision,
    watcher,
)
from bench.common import Row, Sizes, fresh_nats
from bench.context import Ctx
from libs.observability.logging import configure

BENCHES: dict[str, Callable[[Ctx], Awaitable[list[Row]]]] = {
    "append": append.run,
    "http": http.run,
    "load": load.run,
    "replay": replay.run,
    "peer": peer.run,
    "memory": memory.run,
    "decisions": decisions.run,
    "suggestions": suggestions.run,
    "audit": audit.run,
    "seed": seed_scale.run,
    "supervision": supervision.run,
    "notify": notify.run,
    "watcher": watcher.run,
}
RESULTS = Path(__file__).parent / "results"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:,.0f}/s"


def table(rows: list[Row], title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for col, just in (
        ("benchmark", "left"),
        ("ours", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("goal", "left"),
        ("result", "center"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        ratio = "—" if r.ratio is None else (f"{r.ratio:.0%}" if r.unit == "ops/s" else f"{r.ratio:.2f}x")
        result = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[dim]report[/dim]"}[r.passed]
        t.add_row(r.name, fmt(r.ours, r.unit), fmt(r.raw, r.unit), ratio, r.goal, result)
    return t


async def main(quick: bool, only: list[str]) -> int:
    console = Console(width=150)
    sizes = Sizes.of(quick)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.jsonl"
    rows: list[Row] = []
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="renda-bench-")))
        server = stack.enter_context(fresh_nats(folder / "nats"))
        console.print(
            f"[bold]renda bench[/bold] ({'quick' if quick else 'full'}) · NATS {server.url} "
            f"(sync_interval always) · {folder}"
        )
        ctx = Ctx(sizes, server, folder, console, stack)
        with out.open("wb") as f:
            for name, bench in BENCHES.items():
                if only and name not in only:
                    continue
                t0 = time.perf_counter()
                with console.status(f"running {name} …"):
                    got = await bench(ctx)
                console.print(f"[dim]{name}: {time.perf_counter() - t0:.1f} s[/dim]")
                for r in got:
                    line = {"run": stamp, "bench": name, "quick": quick, "host": platform.node(), **r.json()}
                    f.write(orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
                    f.flush()
                rows.extend(got)
                console.print(table(got, name))
    console.print(
        table(rows, f"renda bench {stamp} ({'quick' if quick else 'full'}, {time.perf_counter() - started:.0f} s)")
    )
    for r in rows:
        if r.notes:
            console.print(f"[dim]· {r.name}: {r.notes}[/dim]")
    console.print(f"JSON lines: {out}")
    failed = [r for r in rows if r.passed is False]
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N: the whole run in under two minutes")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=sorted(BENCHES),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    configure("INFO")  # as a service runs: the per-batch debug lines are not rendered
    logging.getLogger("eventsourcing").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    raise SystemExit(asyncio.run(main(args.quick, args.only)))
