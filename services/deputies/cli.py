"""``renda deputies …``: the deputies context's command-line verbs (mounted by renda/cli/main.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from libs.cli.connection import operator_nats
from libs.config.settings import Settings

deputies_app = typer.Typer(help="人大代表：批量导入", no_args_is_help=True)
err = Console(stderr=True)


@deputies_app.command("import")
def deputies_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """从 CSV 导入代表；有错误行则一名也不导入。

    列：姓名,性别,层级,所属人大,编组乡镇,选区,届次,代表构成,电话,补选,当选日期（也可用英文列名）。
    """
    from services.deputies.importing import import_deputies_file

    async def run() -> int:
        async with operator_nats(Settings()) as (_nc, store):
            report = await import_deputies_file(file, store)
        if report.problems:
            for p in report.problems:
                err.print(f"第 {p.row} 行，字段 {p.field}：{p.reason}")
            err.print(f"[red]共 {len(report.problems)} 处错误，未导入任何代表。[/red]")
            return 1
        err.print(f"导入完成：新登记 {report.registered} 名，已存在 {report.existing} 名。")
        return 0

    raise typer.Exit(asyncio.run(run()))


def register(root: typer.Typer) -> None:
    """Mount this context's verbs on the ``renda`` command (called by the composition root)."""
    root.add_typer(deputies_app, name="deputies")
