"""The workbench's own setting from the environment (prefix ``RENDA_``), read once per process.

``RENDA_WORKBENCH_API_URL``: where the contexts' APIs answer the workbench's server-side reads when it
runs apart from them (e.g. the ingress inside the cluster, ``http://ingress.renda.svc``). Empty (the
default): the base URL the page itself was asked on — the one base URL of ``renda up``.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkbenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDA_", extra="ignore", frozen=True)

    workbench_api_url: str = Field(default="", max_length=500, pattern=r"^(https?://[^\s]+)?$")


@lru_cache(maxsize=1)
def workbench_settings() -> WorkbenchSettings:
    return WorkbenchSettings()
