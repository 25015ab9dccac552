"""memory: peak RSS (VmHWM from /proc: psutil is not available) of a projection runner process.

The runner catches up on the big stream for at most 60 s (30 s quick) in its own process. The
service's figure is taken by the HTTP benchmark right after its load.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

from bench.common import Row
from bench.context import Ctx


async def run(ctx: Ctx) -> list[Row]:
    await ctx.big_stream()
    db = f"sqlite+aiosqlite:///{ctx.folder / 'runner.sqlite3'}"
    seconds = 30 if ctx.sizes.quick else 60
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.servers",
        "runner",
        "--nats",
        ctx.url,
        "--db",
        db,
        "--seconds",
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=Path(__file__).parent.parent,
    )
    out, _ = await proc.communicate()
    got = orjson.loads(out.strip().splitlines()[-1])
    rows = [
        Row(
            "memory: projection runner process (VmHWM)",
            got["VmHWM"],
            None,
            "MB",
            "<= 300 MB",
            None,
            got["VmHWM"] <= 300,
            "",
            f"applied {got['applied']:,} events in {got['seconds']:.0f} s; VmRSS {got['VmRSS']:.0f} MB",
        )
    ]
    service = ctx.figures.get("service.memory")
    if not service:
        rows.append(
            Row(
                "memory: service process under load",
                None,
                None,
                "MB",
                "<= 300 MB",
                None,
                None,
                "",
                "run the http benchmark for this figure",
            )
        )
    return rows
