"""``renda``: the one command line of the system (contract "CLI")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console

from libs.auth.actor import ROLES, Principal
from libs.auth.tokens import existing_signing_key, issue
from libs.config.settings import Settings
from renda import registry
from renda.cli import audit
from renda.cli import init as init_cli
from renda.cli import seed as seed_cli

app = typer.Typer(help="renda 人大工作平台命令行", no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)
JURISDICTION_CODE_LENGTHS = (2, 4, 6, 9)  # province, city, county, township or street
registry.register_cli(app)
audit.register(app)
init_cli.register(app)
seed_cli.register(app)


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
    code = jurisdiction.strip()
    if not (code.isascii() and code.isdigit() and len(code) in JURISDICTION_CODE_LENGTHS):
        _fail("辖区代码无效：应为 2 位（省）、4 位（市）、6 位（县区）或 9 位（乡镇街道）数字，不能为空。")
    if role == "deputy" and not deputy_id:
        _fail("代表令牌需要 --deputy-id。")
    if role == "organizer" and not unit_id:
        _fail("承办单位令牌需要 --unit-id。")
    s = _settings()
    key = existing_signing_key(s.jwt_secret, s.data_dir)
    if key is None:
        _fail(
            f"找不到签名密钥：未设置 RENDA_JWT_SECRET，数据目录 {s.data_dir.resolve()} 中也没有 jwt.key。"
            "请在运行服务的机器上、以相同的 RENDA_DATA_DIR 或 RENDA_JWT_SECRET 执行本命令。"
        )
        return
    p = Principal(
        subject=subject or f"operator:{role}",
        role=role,  # type: ignore[arg-type]  # checked against ROLES above
        jurisdiction=code,
        deputy_id=deputy_id,
        unit_id=unit_id,
    )
    print(issue(p, key, timedelta(hours=hours)))


def now() -> datetime:
    return datetime.now(UTC)
