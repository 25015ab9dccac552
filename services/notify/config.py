"""The notify service's own settings (prefix ``RENDA_``); SMTP and the SMS webhook are in libs.config."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore")

    # Apprise URLs of chat bots (WeCom ``wecombot://``, DingTalk ``dingtalk://``, Feishu ``feishu://``…),
    # comma separated; every notification goes to each bot, batched into digests.
    notify_urls: str = ""
    notify_bot_rate: int = 20  # messages a minute per bot (WeCom/DingTalk allow about 20)
    notify_bot_batch: int = 50  # notifications at most in one bot message
    # "daily": staff get one e-mail a day (at notify_digest_hour, local time) instead of one per event.
    notify_digest: str = "off"
    notify_digest_hour: int = 8
    notify_mail_from: str = "renda@localhost"
    notify_base_url: str = "http://127.0.0.1:8000"  # links in mails and SMS point into this dashboard
    notify_max_attempts: int = 8
    notify_retry_base: float = 2.0  # seconds before the first retry; doubled per attempt, with jitter
    notify_retry_max: float = 600.0
    notify_lease: float = 60.0  # seconds a claimed delivery stays with one sender before another may take it
    notify_poll: float = 0.25  # seconds between looks at the outbox when it is idle
    notify_batch: int = 100  # deliveries claimed at once per channel
    # Events older than this when first read make no notification (a new notify service on an old
    # history must not mail the past). ISO-8601 seconds; 0 = no limit.
    notify_max_age_seconds: float = 7 * 86400.0

    @property
    def bot_urls(self) -> list[str]:
        return [u.strip() for u in self.notify_urls.split(",") if u.strip()]

    @property
    def staff_digest(self) -> bool:
        return self.notify_digest.strip().lower() == "daily"
