"""``renda up``: the whole system on one machine — embedded NATS, streams, every service, one URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rich.console import Console
from rich.table import Table

from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.client import connect as nats_connect
from libs.events.errors import StreamMissing
from libs.events.streams import ensure_streams
from libs.runtime.gateway import Gateway
from libs.runtime.home import home_app
from libs.runtime.init import missing_streams, run_init_first
from libs.runtime.nats_server import EmbeddedNats, NatsStartError, port_free
from libs.service.app import readiness
from libs.web import errors

console = Console(stderr=True)
MARKER = "streams.created"

Factory = Callable[[Settings], FastAPI]


class StartupRefused(RuntimeError):
    pass


async def prepare_streams(settings: Settings) -> list[str]:
    """Create the streams on a new installation; refuse when an initialised one lost a stream."""
    marker: Path = settings.data_dir / MARKER
    nc = await nats_connect(servers=settings.nats_servers, name="renda-up", connect_timeout=5)
    try:
        jsapi.check_server_version(nc)
        try:
            created = await ensure_streams(nc, settings.stream_replicas, create_missing=not marker.exists())
        except StreamMissing as exc:
            raise StartupRefused(
                f"事件流 {exc} 不存在，但本安装已初始化过（{marker}）。为避免掩盖数据丢失，不会自动重建；"
                "请恢复 NATS 数据目录，或确认后删除该标记文件再启动。"
            ) from None
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("streams created by renda up\n")
        return created
    finally:
        await nc.drain()


def build_gateway(settings: Settings, factories: dict[str, Factory]) -> tuple[Gateway, list[str]]:
    names = list(factories)
    apps = {name: make(settings) for name, make in factories.items()}
    home = home_app(names)
    errors.install(home)  # paths outside every service answer the contract's error shape too

    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def readyz() -> Response:
        results = {name: await readiness(app) for name, app in apps.items()}
        ready = all(ok for _, ok in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "services": {n: b for n, (b, _) in results.items()}},
            status_code=200 if ready else 503,
        )

    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    home.add_api_route("/healthz", healthz, methods=["GET"])
    home.add_api_route("/readyz", readyz, methods=["GET"])
    home.add_api_route("/metrics", metrics, methods=["GET"])
    return Gateway(apps, home), names


def print_banner(settings: Settings, names: list[str], nats_url: str, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    t = Table(title="renda 已启动", show_header=True)
    t.add_column("内容")
    t.add_column("地址")
    t.add_row("控制台 dashboard", base + "/")
    for n in names:
        t.add_row(f"{n} API 文档", f"{base}/api/{n}/docs")
    t.add_row("就绪 / 指标", f"{base}/readyz · {base}/metrics")
    t.add_row("NATS JetStream", nats_url)
    t.add_row("数据目录", str(settings.data_dir.resolve()))
    console.print(t)
    console.print("按 Ctrl-C 停止全部服务。")


async def _missing_streams(settings: Settings) -> list[str]:
    """Streams ``serve`` needs that do not exist (a new installation: ``renda init`` first)."""
    nc = await nats_connect(servers=settings.nats_servers, name="renda-serve-check", connect_timeout=5)
    try:
        return await missing_streams(nc)
    finally:
        await nc.drain()


def private_data_dir(settings: Settings) -> None:
    """Files this process creates are the operator's alone (phones, names, keys): umask 077, folder 0700."""
    os.umask(0o077)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)


def up(settings: Settings, host: str, port: int, factories: dict[str, Factory]) -> None:
    private_data_dir(settings)
    if not port_free(port, host):
        raise StartupRefused(
            f"端口 {host}:{port} 已被占用：请停止占用它的程序，或用 --port / RENDA_HTTP_PORT 换一个端口。"
        )
    server_nats: EmbeddedNats | None = None
    if settings.embedded_nats:
        try:
            server_nats = EmbeddedNats(settings.embedded_nats_port, settings.data_dir / "nats").start()
        except NatsStartError as exc:
            raise StartupRefused(str(exc)) from None
    try:
        created = asyncio.run(prepare_streams(settings))
        if created:
            console.print(f"已创建事件流：{', '.join(created)}")
        gateway, names = build_gateway(settings, factories)
        print_banner(settings, names, ",".join(settings.nats_servers), host, port)
        config = uvicorn.Config(
            gateway, host=host, port=port, lifespan="on", log_level="warning", timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        server.run()
    finally:
        if server_nats is not None:
            with contextlib.suppress(Exception):
                server_nats.stop()
        console.print("renda 已停止。")


def serve(settings: Settings, name: str, host: str, port: int, factories: dict[str, Factory]) -> None:
    """One service alone, against ``RENDA_NATS_URL`` and ``RENDA_DATABASE_URL`` (the production shape)."""
    if name not in factories:
        raise StartupRefused(f"没有名为 {name} 的服务；可选：{', '.join(factories)}")
    missing = asyncio.run(_missing_streams(settings))
    if missing:
        raise StartupRefused(run_init_first(missing))
    if settings.database_url == "" or settings.embedded_nats:
        private_data_dir(settings)
    else:
        os.umask(0o077)
    app: FastAPI = factories[name](settings)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
