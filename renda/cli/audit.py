"""``renda replay``, ``renda audit …``, ``renda events export``: the event store's operator verbs."""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from libs.cli.connection import operator_nats
from libs.config.settings import Settings

if TYPE_CHECKING:
    from libs.events.anchors import AnchorSet

audit_app = typer.Typer(help="审计：校验哈希链与签名、导出锚点和公钥、查看某条记录的全部历史", no_args_is_help=True)
events_app = typer.Typer(help="事件：导出", no_args_is_help=True)
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


def replay(
    projection: Annotated[
        str | None, typer.Argument(help="读模型名称，例如 deputies-jurisdictions；与 --all 二选一")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="重建所有服务的全部读模型")] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="与 --all 同用：并行的进程数，默认为 CPU 核数")
    ] = None,
    as_of: Annotated[datetime | None, typer.Option("--as-of", help="只重放此时刻之前存储的事件")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="重建到另一个数据库；与 --all 同用时可含 {service}（服务名）")
    ] = None,
) -> None:
    """从零重建一个读模型（或用 --all 重建全部），或把它在过去某一时刻的样子重建到另一个数据库。"""
    from rich.progress import Progress

    from libs.db.engine import make_engine
    from libs.events.projection import rebuild
    from libs.observability.logging import configure
    from renda.cli.projections import find_projection

    s = _settings()
    configure(s.log_level)  # structlog's default prints every batch at debug level
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=s.tz)
    if everything == (projection is not None):
        _fail("请给出一个读模型名称，或用 --all 重建全部读模型（二者只选其一）")
        return
    if projection is None:
        _replay_all(s, jobs, as_of, database_url)
        return
    found = find_projection(s, projection)
    if found is None:
        _fail(f"没有名为 {projection} 的读模型")
        return
    service, proj = found

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

    from libs.events.projection import ProjectionHalted

    try:
        counts = asyncio.run(run())
    except ProjectionHalted as halted:
        _fail(f"重放在 {halted.halt.stream} #{halted.halt.seq} 处停止：{halted.halt.error}")
        return
    err.print(f"重放完成：{counts}" + (f"（截至 {as_of.isoformat()}）" if as_of else ""))


def _replay_all(s: Settings, jobs: int | None, as_of: datetime | None, database_url: str | None) -> None:
    """``renda replay --all``: every service's read models, services side by side (renda/cli/replay.py)."""
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from libs.events.projection import ProjectionHalted
    from renda.cli.replay import Plan, replay_all

    started = time.perf_counter()
    with Progress(console=err) as bar:
        tasks: dict[int, tuple[TaskID, str]] = {}

        def planned(split: Plan) -> None:
            for i, group in enumerate(split.groups):
                names = "、".join(group)
                tasks[i] = (bar.add_task(names, total=None), names)

        def progress(index: int, stream: str, seq: int, head: int) -> None:
            task, names = tasks[index]
            bar.update(task, completed=seq, total=head, description=f"{names} ← {stream}")

        try:
            results = replay_all(
                s, jobs=jobs, as_of=as_of, database_url=database_url, on_plan=planned, on_progress=progress
            )
        except ProjectionHalted as halted:
            _fail(f"{halted.projection} 在 {halted.halt.stream} #{halted.halt.seq} 处停止：{halted.halt.error}")
            return
    table = Table(title="重放完成" + (f"（截至 {as_of.isoformat()}）" if as_of else ""))
    for column in ("进程", "服务", "读模型", "读取事件", "用时（秒）", "内存峰值（MB）"):
        table.add_column(column, justify="right" if column not in ("服务",) else "left")
    for i, r in enumerate(results, 1):
        table.add_row(
            str(i),
            "、".join(r.services),
            str(len(r.read_models)),
            f"{sum(r.events.values()):,}",
            f"{r.seconds:.1f}",
            f"{r.vmhwm_mb:.0f}",
        )
    err.print(table)
    err.print(f"共用时 {time.perf_counter() - started:.1f} 秒")


def _database_urls(s: Settings, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(service, URL) of the read-model databases that exist; a missing SQLite file is not created."""
    from sqlalchemy.engine import make_url

    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in names:
        url = s.database_url_for(name)
        u = make_url(url)
        if u.get_backend_name() == "sqlite" and u.database and not Path(u.database).exists():
            continue
        if url not in seen or s.database_url:
            out.append((name, url))
            seen.add(url)
    return out


async def _db_anchors(s: Settings) -> AnchorSet:
    from libs.db.engine import make_engine
    from libs.events.anchors import AnchorSet, read_anchors
    from libs.events.subjects import CONTEXTS

    found = AnchorSet([], [])
    for context, url in _database_urls(s, CONTEXTS):
        engine = make_engine(url)
        try:
            found.extend(await read_anchors(engine, context))
        finally:
            await engine.dispose()
    return found


def _read_anchor_file(path: Path) -> AnchorSet:
    from libs.events.anchors import AnchorSet

    return AnchorSet.from_lines([orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()])


@audit_app.command("verify")
def audit_verify(
    anchors: Annotated[
        Path | None, typer.Option("--anchors", help="审计方保存的锚点文件（audit anchor --export）")
    ] = None,
    keys: Annotated[
        list[Path] | None, typer.Option("--keys", help="公钥文件（audit keys --export），可多次给出")
    ] = None,
    chains_only: Annotated[bool, typer.Option("--chains-only", help="只校验哈希链，不校验签名和锚点")] = False,
) -> None:
    """校验每条哈希链、写入服务的签名和锚点；发现断裂、缺失或伪造时以非零状态退出。"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from libs.events import jetstream as jsapi
    from libs.events.keys import Keyring
    from libs.events.subjects import CONTEXTS, stream_name
    from libs.events.verify import verify_all

    s = _settings()

    async def run() -> int:
        keyring = None if chains_only else Keyring.gather(s.data_dir, files=tuple(keys or ()))
        anchor_set = None
        if not chains_only:
            anchor_set = await _db_anchors(s)
            if anchors is not None:
                anchor_set.extend(_read_anchor_file(anchors))
        async with operator_nats(s) as (nc, _):
            heads = {stream_name(c): await jsapi.last_seq(nc, stream_name(c)) for c in CONTEXTS}
            started = time.perf_counter()
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err, transient=True) as bar:
                task = bar.add_task("校验", total=sum(heads.values()) or None)
                done: dict[str, int] = {}

                def progress(stream: str, read: int, _head: int) -> None:
                    done[stream] = read
                    bar.update(task, completed=sum(done.values()), description=f"校验 {stream}")

                report = await verify_all(nc, keyring=keyring, anchors=anchor_set, progress=progress)
            elapsed = time.perf_counter() - started
        for b in report.breaks:
            err.print(f"[red]断裂[/red] {b}", markup=True, highlight=False, soft_wrap=True)
        verdict = "全部完好。" if report.ok else f"{len(report.breaks)} 处断裂。"
        rate = report.events / elapsed if elapsed > 0 else 0.0
        keys_note = "未校验签名" if keyring is None else f"{report.signatures} 个签名（{len(keyring)} 把公钥）"
        err.print(
            f"校验 {report.events} 个事件、{report.aggregates} 条记录、{keys_note}、{report.anchors} 个锚点，"
            f"用时 {elapsed:.1f} 秒（{rate:,.0f} 个事件/秒）：{verdict}",
            highlight=False,
        )
        return 0 if report.ok else 2

    raise typer.Exit(asyncio.run(run()))


@audit_app.command("anchor")
def audit_anchor(
    export: Annotated[
        Path, typer.Option("--export", help="把锚点和各记录的链头写入此文件（JSON lines），交审计方另行保存")
    ],
) -> None:
    """导出读模型数据库中记录的链头锚点（带服务签名），供审计方在系统之外保存。"""
    s = _settings()
    found = asyncio.run(_db_anchors(s))
    with export.open("wb") as f:
        for line in found.to_lines():
            f.write(orjson.dumps(line) + b"\n")
    err.print(f"已导出 {len(found.anchors)} 个锚点、{len(found.heads)} 个记录链头到 {export}")


@audit_app.command("keys")
def audit_keys(
    export: Annotated[Path | None, typer.Option("--export", help="写入此文件；不给出则打印到标准输出")] = None,
) -> None:
    """导出各服务的签名公钥（含已轮换的旧公钥），审计方无需服务即可校验。"""
    from libs.events.keys import Keyring

    ring = Keyring.gather(_settings().data_dir)
    data = orjson.dumps(ring.export(), option=orjson.OPT_INDENT_2)
    if export is None:
        sys.stdout.write(data.decode() + "\n")
    else:
        export.write_bytes(data)
        err.print(f"已导出 {len(ring)} 把公钥到 {export}")


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
def events_export(
    since: Annotated[datetime | None, typer.Option(help="只导出此时刻之后存储的事件")] = None,
    under: Annotated[str | None, typer.Option("--under", help="只导出此区划代码（市、县、乡镇）及其下级的事件")] = None,
) -> None:
    """以 JSON lines 导出事件信封（与线上格式相同）；进度和汇总写到标准错误。"""
    from rich.progress import BarColumn, Progress, TextColumn

    from libs.events import jetstream as jsapi
    from libs.events.audit import export_lines
    from libs.events.subjects import CONTEXTS, levels, stream_name

    s = _settings()
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=s.tz)
    if under is not None:
        try:
            levels(under)
        except ValueError:
            _fail(f"--under 需要 4 位（市）、6 位（县）或 9 位（乡镇）区划代码，收到 {under!r}")

    async def run() -> tuple[int, int, float]:
        out = sys.stdout.buffer
        written = size = 0
        async with operator_nats(s) as (nc, _):
            heads = {stream_name(c): await jsapi.last_seq(nc, stream_name(c)) for c in CONTEXTS}
            started = time.perf_counter()
            with Progress(TextColumn("{task.description}"), BarColumn(), console=err, transient=True) as bar:
                task = bar.add_task("导出", total=sum(heads.values()) or None)
                done: dict[str, int] = {}

                def progress(stream: str, seq: int, _head: int) -> None:
                    done[stream] = seq
                    bar.update(task, completed=sum(done.values()), description=f"导出 {stream}")

                chunk: list[bytes] = []
                async for data in export_lines(nc, since, under=under, progress=progress):
                    chunk.append(data)
                    if len(chunk) >= 1000:
                        block = b"\n".join(chunk) + b"\n"
                        out.write(block)
                        written, size, chunk = written + len(chunk), size + len(block), []
                if chunk:
                    block = b"\n".join(chunk) + b"\n"
                    out.write(block)
                    written, size = written + len(chunk), size + len(block)
            out.flush()
            return written, size, time.perf_counter() - started

    written, size, elapsed = asyncio.run(run())
    rate = written / elapsed if elapsed > 0 else 0.0
    scope = f"（{under} 及其下级）" if under else ""
    err.print(
        f"导出 {written} 个事件{scope}，{size / 1e6:.1f} MB，用时 {elapsed:.1f} 秒（{rate:,.0f} 个事件/秒）。",
        highlight=False,
    )


# -- projections that halted on a message ------------------------------------------------------
projections_app = typer.Typer(help="读模型：查看停止的读模型、跳过或重试导致停止的消息", no_args_is_help=True)


def _checkpoint_databases(s: Settings, database_url: str | None) -> list[str]:
    from renda import registry

    if database_url:
        return [database_url]
    return sorted({url for _name, url in _database_urls(s, tuple(registry.available()))})


async def _halted_rows(urls: list[str], name: str | None = None) -> list[tuple[str, dict[str, object]]]:
    from sqlalchemy.exc import DBAPIError

    from libs.db.engine import make_engine
    from libs.events.projection.checkpoints import rows

    out: list[tuple[str, dict[str, object]]] = []
    for url in urls:
        engine = make_engine(url)
        try:
            found = await rows(engine, [name] if name else None)
        except DBAPIError:
            found = []  # no checkpoint table there
        finally:
            await engine.dispose()
        out.extend((url, r) for r in found)
    return out


DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="读模型数据库；默认查找各服务的数据库")]


@projections_app.command("halted")
def projections_halted(database_url: DatabaseUrl = None) -> None:
    """列出因无法解码或应用某条消息而停止的读模型（流、序号、错误）。"""
    s = _settings()
    found = [(u, r) for u, r in asyncio.run(_halted_rows(_checkpoint_databases(s, database_url))) if r["halted_seq"]]
    for _url, r in found:
        err.print(f"[red]停止[/red] {r['projection']} {r['stream']} #{r['halted_seq']}：{r['halted_error']}")
    err.print(f"{len(found)} 个读模型停止。" if found else "没有停止的读模型。")
    raise typer.Exit(1 if found else 0)


@projections_app.command("skip")
def projections_skip(
    name: Annotated[str, typer.Argument(help="读模型名称")],
    seq: Annotated[int, typer.Argument(help="导致停止的流序号（见 /readyz 或 projections halted）")],
    database_url: DatabaseUrl = None,
) -> None:
    """跳过导致读模型停止的那一条消息（记录在检查点表中），运行中的服务在下一次轮询时继续。"""
    from libs.db.engine import make_engine
    from libs.events.projection.checkpoints import NotHalted, skip

    s = _settings()

    async def run() -> str | None:
        for url, r in await _halted_rows(_checkpoint_databases(s, database_url), name):
            if r["halted_seq"] == seq:
                engine = make_engine(url)
                try:
                    return await skip(engine, name, seq, who=f"cli:{getpass.getuser()}")
                except NotHalted:
                    return None
                finally:
                    await engine.dispose()
        return None

    stream = asyncio.run(run())
    if stream is None:
        _fail(f"读模型 {name} 没有停在流序号 {seq}（用 renda projections halted 查看）")
    err.print(f"已跳过 {name} 在 {stream} #{seq} 的消息；服务将从下一条继续。")


@projections_app.command("retry")
def projections_retry(
    name: Annotated[str, typer.Argument(help="读模型名称")],
    database_url: DatabaseUrl = None,
) -> None:
    """让停止的读模型重试导致停止的消息（例如修复并部署之后）。"""
    from libs.db.engine import make_engine
    from libs.events.projection.checkpoints import NotHalted, retry

    s = _settings()

    async def run() -> list[str]:
        streams: list[str] = []
        for url in sorted(
            {u for u, r in await _halted_rows(_checkpoint_databases(s, database_url), name) if r["halted_seq"]}
        ):
            engine = make_engine(url)
            try:
                streams += await retry(engine, name, who=f"cli:{getpass.getuser()}")
            except NotHalted:
                pass
            finally:
                await engine.dispose()
        return streams

    streams = asyncio.run(run())
    if not streams:
        _fail(f"读模型 {name} 没有停止")
    err.print(f"{name} 将重试：{', '.join(streams)}")


def register(root: typer.Typer) -> None:
    root.command()(replay)
    root.add_typer(audit_app, name="audit")
    root.add_typer(events_app, name="events")
    root.add_typer(projections_app, name="projections")
