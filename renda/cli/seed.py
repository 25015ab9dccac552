"""``renda seed --scale demo|county|city [--seed N] [--force]``: generated history for demos and benchmarks."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from libs.cli.connection import operator_nats
from libs.config.settings import Settings

err = Console(stderr=True)
out = Console()
SCALE_HELP = (
    "demo：一个县 12 个乡镇街道一年（约 5 万个事件）；county：一个县五年；"
    "city：10 个县约 150 个乡镇五年（约 500 万个事件）"
)


def register(root: typer.Typer) -> None:
    root.command("seed")(seed)


def seed(
    scale: Annotated[str, typer.Option(help=SCALE_HELP)] = "demo",
    seed: Annotated[int, typer.Option("--seed", help="随机种子：同一种子生成完全相同的历史（事件编号与哈希相同）")] = 1,
    force: Annotated[bool, typer.Option(help="事件库已有数据时仍然写入（已存在的区划、代表等保持原样）")] = False,
    workers: Annotated[
        int | None, typer.Option(help="并行生成的进程数（默认：demo 为 0，即在本进程内；county、city 为 2）")
    ] = None,
) -> None:
    """生成逼真的历史数据（代表、建议办理全流程、会议、县乡联动），经事件库写入。"""
    from renda.seed import SCALES, SeedRefused
    from renda.seed import seed as run_seed

    if scale not in SCALES:
        err.print(f"[red]错误：[/red]规模无效：{scale}；可选 {'、'.join(SCALES)}")
        raise typer.Exit(2)
    settings = Settings()

    async def run() -> int:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("准备", total=None)

            planned = 0

            def on_county(name: str, steps: int) -> None:
                nonlocal planned
                planned += steps
                progress.update(task, description=f"写入 {name}", total=planned)

            def on_step(n: int) -> None:
                progress.advance(task, n)

            async with operator_nats(settings) as (nc, _store):
                try:
                    summary = await run_seed(
                        nc,
                        settings,
                        scale=scale,
                        seed=seed,
                        force=force,
                        workers=workers if workers is not None else (0 if scale in ("tiny", "demo") else 2),
                        on_county=on_county,
                        on_step=on_step,
                    )
                except SeedRefused as refused:
                    err.print(f"[red]已拒绝：[/red]{refused}")
                    return 1
        load = os.getloadavg()
        out.print(
            f"[bold]已生成[/bold] 规模 {summary.scale}（种子 {summary.seed}）：{summary.events:,} 个事件，"
            f"{summary.commands:,} 条命令，{summary.aggregates:,} 个聚合；{summary.counties} 个县（区）、"
            f"{summary.places} 个乡镇街道、{summary.deputies:,} 名代表。"
        )
        out.print(
            f"用时 {summary.seconds:.1f} 秒（{summary.seconds / 60:.1f} 分钟），{summary.rate:,.0f} 个事件/秒；"
            f"负载 {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}。指纹 {summary.digest:08x}。"
        )
        if force:
            out.print(f"新写入 {summary.stored:,} 个事件；已存在而保持原样的步骤 {summary.skipped:,} 个。")
        if summary.refused and not force:
            err.print(f"[yellow]规则拒绝了 {len(summary.refused)} 个计划步骤[/yellow]（生成器缺陷，请报告）：")
            for line in summary.refused[:10]:
                err.print(f"  {line}")
        if summary.password:
            out.print(f"演示账号（密码均为 [bold]{summary.password}[/bold]，仅供演示，请勿用于生产）：")
            for username, role, shown in summary.accounts:
                out.print(f"  {username:<12} {role:<15} {shown}")
        return 0 if force or not summary.refused else 3

    raise typer.Exit(asyncio.run(run()))
