"""The view's own rules from the environment (prefix ``RENDA_``), read once per process.

``RENDA_INACTIVE_MONTHS`` is the deputies' rule (a deputy with no activity this long is inactive);
the view reads the same variable, so its counts agree with ``/api/deputies/inactive``.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SupervisionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore", frozen=True)

    inactive_months: int = Field(default=6, ge=1, le=60)  # as services/deputies/app.py DeputiesSettings
