"""The transports: SMTP (aiosmtplib), the SMS gateway webhook (httpx) and chat bots (Apprise).

Each ``send`` raises ``DeliveryError`` on a failure worth retrying; anything it returns is delivered.
"""

from __future__ import annotations

import asyncio
import base64
import re
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx


class DeliveryError(Exception):
    pass


PLAIN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")  # an address SMTP takes as is


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

    def message(self, to: str, subject: str, body: str, message_id: str) -> bytes:
        """The mail as it goes on the wire (``mime`` below): built directly, not through ``email``'s
        generator and policies, which cost more than the SMTP exchange itself."""
        return mime(self.sender, to, subject, body, message_id, formatdate(localtime=True))

    async def send(self, to: str, message: bytes) -> None:
        async with self._lock:
            try:
                client = await self._connected()
                if PLAIN.fullmatch(to) and PLAIN.fullmatch(self.sender):
                    await self._transaction(client, to, message)
                else:  # a display name, quoting, an international address: aiosmtplib parses and quotes it
                    await client.sendmail(self.sender, [to], message)
            except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused) as exc:
                raise DeliveryError(f"smtp: recipient refused: {exc}") from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc

    async def _transaction(self, client: aiosmtplib.SMTP, to: str, message: bytes) -> None:
        """MAIL, RCPT, DATA for a plain ASCII address: what ``sendmail`` sends, without its address
        parsing (``email.utils.parseaddr`` twice a mail costs more than the exchange)."""
        if client.is_ehlo_or_helo_needed:
            await client.rset()  # EHLO (or HELO) first, as every aiosmtplib command does
        reply = await client.execute_command(b"MAIL", b"FROM:<" + self.sender.encode() + b">")
        if reply.code != 250:
            await client.rset()
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, self.sender)
        reply = await client.execute_command(b"RCPT", b"TO:<" + to.encode() + b">")
        if reply.code not in (250, 251):
            await client.rset()
            raise aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, to)
        await client.data(message)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.quit()
            except Exception:
                client.close()


def encoded_words(text: str) -> str:
    """A header value as RFC 2047 ``=?utf-8?b?…?=`` words (at most 75 characters each, folded), or as is if ASCII."""
    if text.isascii() and text.isprintable() and len(text) < 900:
        return text  # no CR/LF: nothing can start a header of its own
    # 11 characters are at most 44 UTF-8 bytes → 60 base64 characters + 12 of the frame: under 75
    words = [text[i : i + 11] for i in range(0, len(text), 11)]
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words if w)


def mime(sender: str, to: str, subject: str, body: str, message_id: str, date: str) -> bytes:
    """A text/plain UTF-8 mail, base64 body, CRLF line ends; ``email.message_from_bytes`` reads it back.

    The ``Message-ID`` is the notification id: a receiver can drop a copy resent after a crash
    between send and record.
    """
    if any(c in v for v in (sender, to, message_id) for c in "\r\n"):
        raise DeliveryError("smtp: a line break in an address")
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {encoded_words(subject)}\r\nDate: {date}\r\n"
        f"Message-ID: <{message_id}@renda>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    )
    return head.encode() + base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")


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
