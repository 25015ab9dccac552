"""Every configuration variable of the contract, with a working default. Built once, passed down."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.config.durations import CalendarDuration

SERVICES = ("deputies", "suggestions", "meetings", "notify", "supervision", "workbench")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore", frozen=True)

    nats_url: str = ""  # empty: the embedded server on 127.0.0.1:embedded_nats_port
    database_url: str = ""  # empty: one SQLite file per service under data_dir
    data_dir: Path = Path("./var")
    jwt_secret: str = ""  # empty: generated once into data_dir (mode 0600)
    reply_deadline_normal: str = "P3M"
    reply_deadline_complex: str = "P6M"
    reply_deadline_rehandling: str = "P1M"
    return_window: str = "P7D"
    review_opinion_deadline: str = "P2M"
    reminder_before: str = "P14D,P3D"
    require_consultation: Literal["true", "face_to_face", "false"] = "true"
    unsatisfied_limit: int = Field(default=2, ge=0)
    session_min_days: int = Field(default=1, ge=1)
    smtp_url: str = ""
    sms_webhook_url: str = ""
    stream_replicas: int = Field(default=1, ge=1, le=5)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    embedded_nats_port: int = Field(default=14222, ge=1, le=65535)
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    token_ttl_minutes: int = Field(default=480, ge=1)
    read_wait_seconds: float = Field(default=5.0, ge=0)  # how long a query waits for read-your-writes

    @field_validator(
        "reply_deadline_normal",
        "reply_deadline_complex",
        "reply_deadline_rehandling",
        "return_window",
        "review_opinion_deadline",
    )
    @classmethod
    def _duration(cls, v: str) -> str:
        CalendarDuration.parse(v)
        return v

    @field_validator("reminder_before")
    @classmethod
    def _durations(cls, v: str) -> str:
        for part in v.split(","):
            if part.strip():
                CalendarDuration.parse(part)
        return v

    @field_validator("embedded_nats_port")
    @classmethod
    def _not_system_nats(cls, v: int) -> int:
        if v == 4222:
            raise ValueError("4222 belongs to a system NATS; the embedded server must use another port")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        ZoneInfo(v)
        return v

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def nats_servers(self) -> list[str]:
        if self.nats_url:
            return [u.strip() for u in self.nats_url.split(",") if u.strip()]
        return [f"nats://127.0.0.1:{self.embedded_nats_port}"]

    @property
    def embedded_nats(self) -> bool:
        return not self.nats_url

    def database_url_for(self, service: str) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'db' / f'{service}.sqlite3').resolve()}"

    def duration(self, name: str) -> CalendarDuration:
        return CalendarDuration.parse(getattr(self, name))

    @property
    def reminder_lead_times(self) -> list[CalendarDuration]:
        return [CalendarDuration.parse(p) for p in self.reminder_before.split(",") if p.strip()]
