"""Real servers on loopback for the notify tests: an SMTP server (aiosmtpd), an SMS gateway
(a small Starlette app under uvicorn that can answer 503 for a while), the notify service over
HTTP, and a feeder that appends the other contexts' events through the real event store."""

from __future__ import annotations

import asyncio
import contextlib
import email
import random
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from nats.aio.client import Client as NATS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from libs.auth.actor import Principal
from libs.auth.tokens import issue, signing_key
from libs.config.settings import Settings
from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from libs.runtime.embedded import build_gateway
from libs.runtime.nats_server import free_port
from services.deputies.events import DeputyRegistered, JurisdictionRegistered, RoleGranted, UserCreated
from services.notify.app import create
from services.notify.config import NotifySettings
from services.suggestions.events import OrganizerUnitRegistered
from tests.support.places import fresh


# -- SMTP ------------------------------------------------------------------------------------------
class Mailbox:
    """An aiosmtpd server in a thread; ``mails`` are the parsed messages received."""

    def __init__(self) -> None:
        self.mails: list[Message] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content)
        with self._lock:
            self.mails.append(msg)
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.mails if m["To"] == address]

    def ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.mails]

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# -- the SMS gateway -------------------------------------------------------------------------------
@dataclass
class SmsGateway:
    """Answers 503 to the first ``fail_first`` requests, then 200; records every request it accepted."""

    fail_first: int = 0
    delay: float = 0.0  # seconds before each answer (a slow gateway)
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [b for b in self.received if b["to"] == phone]

    async def endpoint(self, request: Request) -> JSONResponse:
        body = await request.json()
        await asyncio.sleep(self.delay)
        if self.refused < self.fail_first:
            self.refused += 1
            return JSONResponse({"error": "busy"}, status_code=503)
        self.received.append(body)
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SmsGateway]:
        app = Starlette(routes=[Route("/sms", self.endpoint, methods=["POST"])])
        async with serving(app, self.port):
            yield self


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during startup")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


# -- the notify service alone ----------------------------------------------------------------------
@dataclass
class Notify:
    settings: Settings
    client: httpx.AsyncClient

    def auth(self, role: str, jurisdiction: str, **kw: str | None) -> dict[str, str]:
        p = Principal(
            subject=kw.pop("subject", None) or f"test:{role}:{jurisdiction}", role=role, jurisdiction=jurisdiction, **kw
        )  # type: ignore[arg-type]
        token = issue(p, signing_key(self.settings.jwt_secret, self.settings.data_dir), timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    async def inbox(self, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/api/notify/inbox", headers=headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def notify_service(settings: Settings, ns: NotifySettings | None = None) -> AsyncIterator[Notify]:
    gateway, _ = build_gateway(settings, {"notify": lambda s: create(s, ns or NotifySettings(notify_poll=0.05))})
    port = free_port()
    async with serving(gateway, port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Notify(settings, client)


# -- events ----------------------------------------------------------------------------------------
def _agg(name: str, context: str) -> AggregateType[None]:
    return AggregateType(name=name, context=context, initial=lambda _i: None, evolve=lambda s, _e: s, snapshot_every=0)


def fresh_county() -> tuple[str, str, str]:
    city = fresh(lambda: f"8{random.randint(100, 999)}")
    county = f"{city}{random.randint(10, 99)}"
    return city, county, f"{county}001"


class Feeder:
    """Appends real events of the other contexts through the event store."""

    def __init__(self, nc: NATS) -> None:
        self.store = EventStore(nc, snapshots=False)

    async def append(
        self, context: str, agg: str, aggregate_id: str, jurisdiction: str, *events: Event, at: datetime | None = None
    ) -> str:
        cid = str(uuid.uuid4())
        meta = CommandMeta(Actor("test:feeder", "county_staff"), cid, cid, at or datetime.now(UTC))
        t = _agg(agg, context)
        loaded = await self.store.load(t, aggregate_id, jurisdiction=jurisdiction)
        done = await self.store.append(loaded, list(events), meta, jurisdiction=jurisdiction)
        return done.envelopes[-1].id

    async def place(self, code: str, name: str, kind: str, parent: str | None = None) -> None:
        await self.append(
            "deputies",
            "jurisdiction",
            code,
            code,
            JurisdictionRegistered(code=code, name=name, kind=kind, parent=parent),
        )

    async def county(self) -> tuple[str, str, str]:
        city, county, town = fresh_county()
        await self.place(city, "测试市", "city")
        await self.place(county, "测试县", "county", city)
        await self.place(town, "青山镇", "township", county)
        return city, county, town

    async def deputy(self, town: str, name: str, phone: str | None = None, *, deputy_id: str | None = None) -> str:
        did = deputy_id or f"d{uuid.uuid4().hex[:12]}"
        e = DeputyRegistered(
            deputy_id=did,
            name=name,
            gender="female",
            level="township",
            congress=town,
            township=town,
            constituency="第一选区",
            term=18,
            phone=phone,
        )
        await self.append("deputies", "deputy", did, town, e)
        return did

    async def unit(self, town: str, name: str, email: str | None = None, phone: str | None = None) -> str:
        uid = f"u{uuid.uuid4().hex[:12]}"
        fields = OrganizerUnitRegistered.model_fields
        extra = {k: v for k, v in (("email", email), ("phone", phone)) if k in fields and v}
        e = OrganizerUnitRegistered(
            unit_id=uid,
            jurisdiction=town,
            name=name,
            kind="township_office",
            head="张主任",
            deputy_head="李副主任",
            registered_at=datetime.now(UTC),
            **extra,
        )
        await self.append("suggestions", "unit", uid, town, e)
        return uid

    async def user(
        self, username: str, role: str, code: str, *, email: str | None = None, phone: str | None = None, **ids: str
    ) -> None:
        fields = UserCreated.model_fields
        extra = {k: v for k, v in (("email", email), ("phone", phone)) if k in fields and v}
        if "password_hash" in fields:
            extra["password_hash"] = "x"
        created = UserCreated(username=username, **extra)
        granted = RoleGranted(username=username, role=role, jurisdiction=code, **ids)  # type: ignore[arg-type]
        await self.append("deputies", "user", username, code, created, granted)
