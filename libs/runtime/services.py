"""The services of renda, by name, each with its ``create(settings) -> FastAPI``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from fastapi import FastAPI

from libs.config.settings import SERVICES, Settings

Factory = Callable[[Settings], FastAPI]


def available() -> list[str]:
    """Services whose code is present (all five once built), in start order."""
    out = []
    for name in SERVICES:
        try:
            importlib.import_module(f"services.{name}.app")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"services.{name}"):
                continue
            raise
        out.append(name)
    return out


def factory(name: str) -> Factory:
    module = importlib.import_module(f"services.{name}.app")
    return module.create  # type: ignore[no-any-return]
