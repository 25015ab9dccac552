"""``renda replay``, ``renda audit …``, ``renda events export``: the event store's operator verbs."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Annotated

import orjson
import typer
from rich.console import Console

from libs.cli.connection import operator_nats
from libs.config.settings import Settings

audit_app = typer.Typer(help="审计：校验哈希链、查看某条记录的全部历史", no_args_is_help=True)
events_app = typer.Typer(help="事件：导出", no_args_is_help=True)
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


def replay(
    projection: Annotated[str, typer.Argument(help="读模型名称，例如 deputies-jurisdictions")],
    as_of: Annotated[datetime | None, typer.Option("--as-of", help="只重放此时刻之前存储的事件")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="重建到另一个数据库")] = None,
) -> None:
    """从零重建一个读模型，或把它在过去某一时刻的样子重建到另一个数据库。"""
    from rich.progress import Progress

    from libs.db.engine import make_engine
    from libs.events.projection import rebuild
    from renda.cli.projections import find_projection

    s = _settings()
    found = find_projection(s, projection)
    if found is None:
        _fail(f"没有名为 {projection} 的读模型")
        return
    service, proj = found
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=s.tz)

    async def run() -> dict[str, int]:
        engine = make_engine(database_url or s.database_url_for(service))
        try:
            async with operator_nats(s) as (nc, _store):
                with Progress(console=err) as bar:
                    task = bar.add_task(f"重放 {projection}", total=None)

                    def progress(stream: str, seq: int, head: int) -> None:
                        bar.update(task, completed=seq, total=head, description=f"{projection} ← {stream}")

                    return await rebuild(nc, engine, proj, as_of=as_of, progress=progress)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    err.print(f"重放完成：{counts}" + (f"（截至 {as_of.isoformat()}）" if as_of else ""))


@audit_app.command("verify")
def audit_verify() -> None:
    """重新计算每条记录的哈希链；发现断裂时以非零状态退出。"""
    from libs.events.audit import verify_all

    async def run() -> int:
        async with operator_nats(_settings()) as (nc, _):
            report = await verify_all(nc)
        for b in report.breaks:
            err.print(f"[red]断裂[/red] {b}")
        verdict = "全部完好。" if report.ok else f"{len(report.breaks)} 处断裂。"
        err.print(f"校验 {report.events} 个事件、{report.aggregates} 条记录：{verdict}")
        return 0 if report.ok else 2

    raise typer.Exit(asyncio.run(run()))


@audit_app.command("history")
def audit_history(aggregate_id: str) -> None:
    """打印一条记录（建议、会议、代表……）的全部事件，最早的在前。"""
    from libs.events.audit import history

    async def run() -> list[dict[str, object]]:
        async with operator_nats(_settings()) as (nc, _):
            return await history(nc, aggregate_id)

    rows = asyncio.run(run())
    if not rows:
        _fail(f"找不到记录 {aggregate_id}")
    for r in rows:
        sys.stdout.write(orjson.dumps(r).decode() + "\n")


@events_app.command("export")
def events_export(since: Annotated[datetime | None, typer.Option(help="只导出此时刻之后存储的事件")] = None) -> None:
    """以 JSON lines 导出全部事件信封（与线上格式相同）。"""
    from libs.events.audit import export

    s = _settings()
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=s.tz)

    async def run() -> None:
        async with operator_nats(s) as (nc, _):
            async for body in export(nc, since):
                sys.stdout.write(orjson.dumps(body).decode() + "\n")

    asyncio.run(run())


def register(root: typer.Typer) -> None:
    root.command()(replay)
    root.add_typer(audit_app, name="audit")
    root.add_typer(events_app, name="events")
