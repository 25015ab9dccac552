"""``renda``: the one command line of the system (contract "CLI")."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from libs.auth.actor import ROLES, Principal
from libs.auth.tokens import issue, signing_key
from libs.cli.connection import operator_nats
from libs.config.settings import Settings
from renda import registry

app = typer.Typer(help="renda 人大工作平台命令行", no_args_is_help=True, pretty_exceptions_enable=False)
audit_app = typer.Typer(help="审计：校验哈希链、查看某条记录的全部历史", no_args_is_help=True)
events_app = typer.Typer(help="事件：导出", no_args_is_help=True)
jur_app = typer.Typer(help="行政区划", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")
users_app = typer.Typer(help="账号：新增、停用、列出", no_args_is_help=True)
app.add_typer(jur_app, name="jurisdictions")
app.add_typer(users_app, name="users")
err = Console(stderr=True)
registry.register_cli(app)


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="监听地址（默认 RENDA_HTTP_HOST）")] = None,
    port: Annotated[int | None, typer.Option(help="端口（默认 RENDA_HTTP_PORT）")] = None,
) -> None:
    """启动全部服务（内置 NATS、事件流、各服务、控制台），地址 http://127.0.0.1:8000 。"""
    from libs.runtime.embedded import StartupRefused
    from libs.runtime.embedded import up as run_up

    s = _settings()
    try:
        run_up(s, host or s.http_host, port or s.http_port, registry.factories())
    except StartupRefused as exc:
        _fail(str(exc))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="deputies | suggestions | meetings | notify | supervision")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
) -> None:
    """单独运行一个服务（生产形态），连接 RENDA_NATS_URL 与 RENDA_DATABASE_URL。"""
    from libs.runtime.embedded import StartupRefused
    from libs.runtime.embedded import serve as run_serve

    try:
        run_serve(_settings(), service, host, port, registry.factories())
    except StartupRefused as exc:
        _fail(str(exc))


@app.command()
def token(
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))],
    jurisdiction: Annotated[str, typer.Option(help="辖区区划代码")],
    deputy_id: Annotated[str | None, typer.Option()] = None,
    unit_id: Annotated[str | None, typer.Option()] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    hours: Annotated[int, typer.Option(help="有效期（小时）")] = 8,
) -> None:
    """签发访问令牌（需要签名密钥，仅服务器运维人员可用）。"""
    if role not in ROLES:
        _fail(f"角色无效：{role}；可选 {', '.join(ROLES)}")
    s = _settings()
    p = Principal(
        subject=subject or f"operator:{role}",
        role=role,
        jurisdiction=jurisdiction,  # type: ignore[arg-type]
        deputy_id=deputy_id,
        unit_id=unit_id,
    )
    print(issue(p, signing_key(s.jwt_secret, s.data_dir), timedelta(hours=hours)))


@jur_app.command("load")
def jurisdictions_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """从 CSV（code,name,kind,parent）载入行政区划树；有错误行则一行也不载入。"""
    from services.deputies.loading import load_jurisdictions_file

    async def run() -> int:
        async with operator_nats(_settings()) as (nc, store):
            report = await load_jurisdictions_file(file, store, nc)
        if report.problems:
            for p in report.problems:
                err.print(f"第 {p.row} 行，字段 {p.field}：{p.reason}")
            err.print(f"[red]共 {len(report.problems)} 处错误，未载入任何区划。[/red]")
            return 1
        err.print(f"载入完成：新登记 {report.registered} 个，已存在 {report.existing} 个。")
        return 0

    raise typer.Exit(asyncio.run(run()))


def _operator_meta(action: str):  # type: ignore[no-untyped-def]
    import uuid

    from libs.events.envelope import Actor
    from libs.events.store import CommandMeta

    return CommandMeta(
        actor=Actor(subject="operator:cli", role="operator"),
        correlation_id=f"cli:{action}",
        command_id=str(uuid.uuid4()),
        now=now(),
    )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Option(help="用户名：3–64 位小写字母、数字、_ 或 -")],
    password: Annotated[str, typer.Option(help="至少 8 位，含大写、小写、数字、符号中的三类")],
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))],
    jurisdiction: Annotated[str, typer.Option(help="辖区区划代码（市 4 位、县区 6 位、乡镇街道 9 位）")],
    deputy_id: Annotated[str | None, typer.Option(help="代表账号绑定的代表编号")] = None,
    unit_id: Annotated[str | None, typer.Option(help="承办单位账号绑定的单位编号")] = None,
    name: Annotated[str, typer.Option("--name", help="显示名称（可选）")] = "",
) -> None:
    """新增账号（密码只保存 argon2 哈希；账号与角色授予记为事件，可审计）。"""
    from libs.domain.errors import DomainError
    from services.deputies.directory_commands import AddUser, add_user

    async def run() -> int:
        async with operator_nats(_settings()) as (_nc, store):
            c = AddUser(
                username=username,
                password=password,
                role=role,
                jurisdiction=jurisdiction,
                deputy_id=deputy_id,
                unit_id=unit_id,
                display_name=name,
            )
            try:
                done = await add_user(c, store, _operator_meta("users-add"))
            except DomainError as exc:
                field = (exc.details or {}).get("field")
                err.print(f"[red]错误：[/red]{exc.text}" + (f"（字段 {field}）" if field else ""))
                return 1
        u = done.loaded.state
        bound = (f"，代表 {u.deputy_id}" if u.deputy_id else "") + (f"，单位 {u.unit_id}" if u.unit_id else "")
        err.print(f"已新增账号 {u.username}：角色 {u.role}，辖区 {u.jurisdiction}{bound}。")
        return 0

    raise typer.Exit(asyncio.run(run()))


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="用户名")],
    reason: Annotated[str, typer.Option(help="停用原因（记入审计）")] = "",
) -> None:
    """停用账号：其令牌在所有服务中立即失效。"""
    from libs.domain.errors import DomainError
    from services.deputies.directory_commands import DisableUser, disable_user

    async def run() -> int:
        async with operator_nats(_settings()) as (_nc, store):
            try:
                done = await disable_user(
                    DisableUser(username=username, reason=reason), store, _operator_meta("users-disable")
                )
            except DomainError as exc:
                err.print(f"[red]错误：[/red]{exc.text}")
                return 1
        err.print(f"已停用账号 {done.loaded.state.username}。" if done.envelopes else f"账号 {username} 早已停用。")
        return 0

    raise typer.Exit(asyncio.run(run()))


@users_app.command("list")
def users_list() -> None:
    """列出全部账号（用户名、角色、辖区、绑定、状态），以 JSON lines 输出。"""
    from services.deputies.directory_projection import all_users

    async def run() -> list[object]:
        async with operator_nats(_settings()) as (nc, _store):
            return list(await all_users(nc))

    for u in asyncio.run(run()):
        row = {
            "username": u.username,
            "role": u.role,
            "jurisdiction": u.jurisdiction,  # type: ignore[attr-defined]
            "deputy_id": u.deputy_id,
            "unit_id": u.unit_id,
            "disabled": u.disabled,
        }  # type: ignore[attr-defined]
        sys.stdout.write(orjson.dumps(row).decode() + "\n")


@app.command()
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


def now() -> datetime:
    return datetime.now(UTC)
