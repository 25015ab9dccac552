"""The composition root's list of services, by name, each with its ``create(settings) -> FastAPI``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

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


def factories() -> dict[str, Factory]:
    return {name: factory(name) for name in available()}


def register_cli(root: Any) -> None:
    """Each context mounts its own verbs: ``services/<name>/cli.py`` with ``register(root)``."""
    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"services.{name}"):
                continue
            raise
        module.register(root)
