"""The notify service: the only wiring."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.events.projection import Projection
from libs.service.app import ServiceDefinition, create_app
from libs.service.runtime import ServiceRuntime
from services.notify import api
from services.notify.config import NotifySettings
from services.notify.consumer import NotifyConsumer
from services.notify.sender import Sender

OUTBOX = "notify-outbox"


class OutboxHealth:
    """The outbox in ``/readyz`` beside the projections: ``lag`` is its backlog, ``running`` the sender's.

    Duck-typed like a ``ProjectionRunner`` (streams, lag, running, stop, wait_for) so create_app's
    readiness reports it without a change in libs/.
    """

    generation = 0

    def __init__(self, sender: Sender, task: asyncio.Task[None]) -> None:
        self.streams: list[str] = []
        self.sender = sender
        self.task = task
        self.projection = type("OutboxName", (), {"name": OUTBOX})()

    async def lag(self, heads: dict[str, int] | None = None) -> dict[str, int]:
        return await self.sender.backlog()

    def running(self) -> bool:
        return not self.task.done()

    async def stop(self) -> None:
        return None

    async def wait_for(self, stream: str, seq: int, timeout: float) -> bool:
        return True


def definition(ns: NotifySettings | None = None) -> ServiceDefinition:
    def own() -> NotifySettings:
        return ns if ns is not None else NotifySettings()

    def projections(settings: Settings) -> list[Projection]:
        return [NotifyConsumer(settings.tz, own(), smtp=bool(settings.smtp_url), sms=bool(settings.sms_webhook_url))]

    async def deliver(rt: ServiceRuntime) -> None:
        consumer: Any = rt.runner(NotifyConsumer.name).projection
        sender = Sender(
            rt.engine,
            rt.store,
            consumer.ns,
            smtp_url=rt.settings.smtp_url,
            sms_url=rt.settings.sms_webhook_url,
            wakers=consumer.wakers,
        )
        task = asyncio.current_task()
        assert task is not None
        rt.runners[OUTBOX] = OutboxHealth(sender, task)  # type: ignore[assignment]
        await sender.run()

    return ServiceDefinition(
        name="notify",
        title="renda 通知服务（站内信、邮件、短信、工作群机器人）",
        routers=[api.router],
        projections=projections,
        background=[deliver],
    )


DEFINITION = definition()


def create(settings: Settings, notify: NotifySettings | None = None) -> FastAPI:
    return create_app(definition(notify) if notify is not None else DEFINITION, settings)
