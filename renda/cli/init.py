"""``renda init``: create the event streams and read-model tables of an installation (contract "CLI")."""

from __future__ import annotations

import asyncio
import time

import typer
from rich.console import Console
from rich.markup import escape

from libs.config.settings import Settings
from renda import registry

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def register(root: typer.Typer) -> None:
    root.command(name="init")(init)


def init() -> None:
    """创建事件流（副本数 RENDA_STREAM_REPLICAS）、快照流与各服务的读模型表；可重复运行。首次 serve 前执行。"""
    from libs.events.errors import EventStoreError
    from libs.runtime.init import initialise

    settings = Settings()
    started = time.monotonic()
    nats_where = ",".join(settings.nats_servers)
    try:
        report = asyncio.run(initialise(settings, registry.factories()))
    except (OSError, EventStoreError, TimeoutError) as exc:
        err.print(f"[red]错误：[/red]无法初始化（NATS {nats_where}）：{type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except Exception as exc:  # a connection refused by NATS or the database: say which, no traceback
        if type(exc).__module__.split(".")[0] not in ("nats", "sqlalchemy", "asyncpg"):
            raise
        err.print(f"[red]错误：[/red]无法初始化（NATS {nats_where}）：{type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    for line in report.created:
        out.print(f"已创建 created  {line}", markup=False)
    for line in report.existing:
        out.print(f"已存在 existing {line}", markup=False)
    if report.differences:
        err.print("[red]错误：[/red]以下事件流已存在但配置不同；renda init 不会自动修改（可能丢失数据或降低副本数）。")
        err.print("请核对后用 nats CLI 手工调整，或恢复正确的 NATS 数据目录：")
        for d in report.differences:
            line = f"  配置不同 differs  {d.stream}  字段 field={d.field}  "
            err.print(line + f"期望 expected={d.expected!r}  实际 found={d.found!r}", markup=False)
        raise typer.Exit(1)
    took = time.monotonic() - started
    total = len(report.created) + len(report.existing)
    out.print(
        f"初始化完成 done: {len(report.created)} created, {len(report.existing)} existing "
        f"in {took:.1f}s ({total / max(took, 1e-3):.0f} items/s)"
    )
