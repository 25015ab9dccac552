"""``renda deputies …``: the deputies context's command-line verbs (mounted by renda/cli/main.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from nats.aio.client import Client as NATS
from rich.console import Console

from libs.auth.actor import ROLES
from libs.cli.connection import operator_nats
from libs.config.settings import Settings

deputies_app = typer.Typer(help="人大代表：批量导入", no_args_is_help=True)
jur_app = typer.Typer(help="行政区划", no_args_is_help=True)
users_app = typer.Typer(help="账号：新增、停用、列出", no_args_is_help=True)
err = Console(stderr=True)


def _problems(problems: list, what: str) -> None:  # type: ignore[type-arg]
    for p in problems:
        where = f"第 {p.row} 行，字段 {p.field}" if p.field not in ("file",) else f"第 {p.row} 行"
        err.print(f"{where}：{p.reason}")
    err.print(f"[red]共 {len(problems)} 处错误，未{what}。[/red]")


@deputies_app.command("import")
def deputies_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """从 CSV（UTF-8 或 GBK）或 Excel（.xlsx）导入代表；有错误行则一名也不导入。

    列：姓名,性别,层级,所属人大,编组乡镇,选区,届次,代表构成,电话,补选,当选日期（也可用英文列名）。
    """
    from services.deputies.commands.files import import_deputies_file

    async def run() -> int:
        async with operator_nats(Settings()) as (_nc, store):
            report = await import_deputies_file(file, store)
        if report.problems:
            _problems(report.problems, "导入任何代表")
            return 1
        err.print(f"导入完成：新登记 {report.registered} 名，已存在 {report.existing} 名。")
        return 0

    raise typer.Exit(asyncio.run(run()))


@jur_app.command("load")
def jurisdictions_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """从 CSV（UTF-8 或 GBK）或 Excel（.xlsx）载入行政区划树（列 code,name,kind,parent）；有错误行则一行也不载入。"""
    from services.deputies.commands.files import load_jurisdictions_file

    async def run() -> int:
        async with operator_nats(Settings()) as (_nc, store):
            report = await load_jurisdictions_file(file, store)
        if report.problems:
            _problems(report.problems, "载入任何区划")
            return 1
        err.print(f"载入完成：新登记 {report.registered} 个，已存在 {report.existing} 个。")
        return 0

    raise typer.Exit(asyncio.run(run()))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Option(help="用户名：3–64 位小写字母、数字、_ 或 -")],
    password: Annotated[str, typer.Option(help="至少 8 位，含大写、小写、数字、符号中的三类")],
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))],
    jurisdiction: Annotated[str, typer.Option(help="辖区区划代码（市 4 位、县区 6 位、乡镇街道 9 位）")],
    deputy_id: Annotated[str | None, typer.Option(help="代表账号绑定的代表编号")] = None,
    unit_id: Annotated[str | None, typer.Option(help="承办单位账号绑定的单位编号")] = None,
    name: Annotated[str, typer.Option("--name", help="显示名称（可选）")] = "",
    email: Annotated[str | None, typer.Option(help="电子邮箱（接收通知）")] = None,
    phone: Annotated[str | None, typer.Option(help="手机号（接收短信通知）")] = None,
) -> None:
    """新增账号：辖区、绑定的代表和承办单位须已登记。密码只以 argon2 哈希存入凭据库（不进入事件）；
    账号、联系方式与角色授予记为事件，可审计。"""
    from libs.domain.errors import DomainError
    from services.deputies.commands.context import operator
    from services.deputies.commands.directory import AddUser, add_user, check_references

    async def run() -> int:
        async with operator_nats(Settings()) as (nc, store):
            c = AddUser(
                username=username,
                password=password,
                role=role,
                jurisdiction=jurisdiction,
                deputy_id=deputy_id,
                unit_id=unit_id,
                display_name=name,
                email=email,
                phone=phone,
            )
            try:
                await check_references(c, store, await _unit_inside(nc, unit_id, jurisdiction))
                done = await add_user(c, operator(store, "users-add"))
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
    from services.deputies.commands.context import operator
    from services.deputies.commands.directory import DisableUser, disable_user

    async def run() -> int:
        async with operator_nats(Settings()) as (_nc, store):
            try:
                done = await disable_user(
                    DisableUser(username=username, reason=reason), operator(store, "users-disable")
                )
            except DomainError as exc:
                err.print(f"[red]错误：[/red]{exc.text}")
                return 1
        err.print(f"已停用账号 {done.loaded.state.username}。" if done.envelopes else f"账号 {username} 早已停用。")
        return 0

    raise typer.Exit(asyncio.run(run()))


@users_app.command("list")
def users_list() -> None:
    """列出全部账号（用户名、角色、辖区、绑定、联系方式、状态），以 JSON lines 输出。"""
    from services.deputies.domain.directory import User
    from services.deputies.queries.directory import all_users

    async def run() -> list[User]:
        async with operator_nats(Settings()) as (nc, _store):
            return await all_users(nc)

    for u in asyncio.run(run()):
        row = {
            "username": u.username,
            "role": u.role,
            "jurisdiction": u.jurisdiction,
            "deputy_id": u.deputy_id,
            "unit_id": u.unit_id,
            "email": u.email,
            "phone": u.phone,
            "disabled": u.disabled,
        }
        sys.stdout.write(orjson.dumps(row).decode() + "\n")


async def _unit_inside(nc: NATS, unit_id: str | None, jurisdiction: str) -> bool | None:
    """Whether the unit is registered inside ``jurisdiction`` (None: the units could not be read)."""
    if not unit_id:
        return True
    from services.deputies.queries.units import UnitsUnreadable, registered_unit

    try:
        unit = await registered_unit(nc, unit_id)
    except UnitsUnreadable:
        return None
    return unit is not None and unit.jurisdiction.startswith(jurisdiction.strip())


def register(root: typer.Typer) -> None:
    """Mount this context's verbs on the ``renda`` command (called by the composition root)."""
    root.add_typer(deputies_app, name="deputies")
    root.add_typer(jur_app, name="jurisdictions")
    root.add_typer(users_app, name="users")
