"""Settings of the deputies context that are not (yet) in ``libs.config.settings.Settings``.

Provinces and counties set their own rules, so these have working defaults and an
environment variable each (prefix ``RENDA_``). Built once per service, passed down; the
domain gets plain values.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeputiesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore", frozen=True)

    # A deputy with no activity of any kind for this many months is listed as inactive
    # (default: two quarters).
    inactive_months: int = Field(default=6, ge=1, le=60)
    # Townships whose presidium may have up to 15 members (comma separated codes).
    large_townships: str = ""
    # Sector (代表构成) values that mean "holds a government office" (presidium members may not).
    government_sectors: str = "government,政府,国家行政机关,行政机关"

    @property
    def large(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.large_townships.split(",") if c.strip())

    def holds_government_office(self, sector: str) -> bool:
        s = sector.strip().lower()
        return bool(s) and any(tag.strip().lower() in s for tag in self.government_sectors.split(",") if tag.strip())
