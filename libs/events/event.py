"""Declaring events: one small frozen pydantic class each, registered by type name and version.

The class is the stored schema. Change it only by bumping ``version`` and adding an
``@upcaster`` that turns the previous version's data into the new one, so old events
read back as the current class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class Event(BaseModel):
    """Base of every domain event: past tense, immutable, JSON-serialisable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    version: ClassVar[int]

    def __init_subclass__(cls, version: int = 1, type_name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = type_name or cls.__name__
        cls.version = version
        registry.register(cls)


class EventRegistry:
    """Maps type name → current class, and (type name, version) → upcaster to the next version."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[Event]) -> None:
        existing = self._classes.get(cls.type_name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"event type {cls.type_name!r} declared twice ({existing} and {cls})")
        self._classes[cls.type_name] = cls

    def add_upcaster(self, type_name: str, from_version: int, fn: Upcaster) -> None:
        self._upcasters[(type_name, from_version)] = fn

    def cls(self, type_name: str) -> type[Event]:
        try:
            return self._classes[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def known(self, type_name: str) -> bool:
        return type_name in self._classes

    def upcast(self, type_name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        target = self.cls(type_name).version
        while version < target:
            step = self._upcasters.get((type_name, version))
            if step is None:
                raise UnknownEventType(f"{type_name} v{version}: no upcaster to v{version + 1}")
            data = step(data)
            version += 1
        return data

    def decode(self, type_name: str, version: int, data: dict[str, Any]) -> Event:
        cls = self.cls(type_name)
        if version != cls.version:
            data = self.upcast(type_name, version, data)
        return cls.model_validate(data)


registry = EventRegistry()


def upcaster(event_cls: type[Event], from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as turning ``event_cls`` data of ``from_version`` into ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        registry.add_upcaster(event_cls.type_name, from_version, fn)
        return fn

    return register
