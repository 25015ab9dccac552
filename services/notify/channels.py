"""The transports: SMTP (aiosmtplib), the SMS gateway webhook (httpx) and chat bots (Apprise).

Each ``send`` raises ``DeliveryError`` on a failure worth retrying; anything it returns is delivered.
"""

from __future__ import annotations

import asyncio
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx


class DeliveryError(Exception):
    pass


class Mailer:
    """One SMTP connection, reused; ``smtp://``, ``smtps://`` (SSL) or ``smtp+starttls://``, login from the URL."""

    def __init__(self, url: str, sender: str) -> None:
        u = urlsplit(url)
        scheme = u.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(f"RENDA_SMTP_URL: unknown scheme {u.scheme!r} (smtp, smtps, smtp+starttls)")
        self.ssl = scheme == "smtps"
        self.starttls = scheme == "smtp+starttls"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (465 if self.ssl else 587 if self.starttls else 25)
        self.username = unquote(u.username) if u.username else None
        self.password = unquote(u.password) if u.password else None
        self.sender = sender
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, use_tls=self.ssl, start_tls=self.starttls, timeout=30
        )
        await client.connect()
        if self.username:
            await client.login(self.username, self.password or "")
        self._client = client
        return client

    def message(self, to: str, subject: str, body: str, message_id: str) -> Message:
        m = MIMEText(body, "plain", "utf-8")  # compat32: a fraction of EmailMessage's header folding cost
        m["From"] = self.sender
        m["To"] = to
        m["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
        m["Date"] = formatdate(localtime=True)
        # The notification id: a receiver can drop a copy resent after a crash between send and record.
        m["Message-ID"] = f"<{message_id}@renda>"
        return m

    async def send(self, message: Message) -> None:
        async with self._lock:
            try:
                client = await self._connected()
                await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise DeliveryError(f"smtp: recipient refused: {exc}") from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.quit()
            except Exception:
                client.close()


class Sms:
    """POST ``{"to", "template", "params", "text", "notification_id"}``; a 2xx answer is delivered."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=10)

    async def send(self, body: dict[str, Any]) -> None:
        try:
            r = await self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"sms: {type(exc).__name__}: {exc}") from exc
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"sms: gateway answered {r.status_code}")

    async def close(self) -> None:
        await self.client.aclose()


class Bots:
    """Chat bots through Apprise URLs (WeCom, DingTalk, Feishu … and ``json://`` for a plain webhook)."""

    def __init__(self, urls: list[str], label: Any) -> None:
        import apprise

        self.by_label: dict[str, Any] = {}
        for url in urls:
            a = apprise.Apprise()
            if not a.add(url):
                raise ValueError("RENDA_NOTIFY_URLS: a URL Apprise does not understand")
            self.by_label[label(url)] = a

    async def send(self, label: str, title: str, body: str) -> None:
        a = self.by_label.get(label)
        if a is None:
            raise DeliveryError("bot: no longer configured in RENDA_NOTIFY_URLS")
        if not await a.async_notify(body=body, title=title):
            raise DeliveryError("bot: Apprise reported a failed notification")
