"""The contract's list shape: ``{"items": [...], "next_cursor": ...}`` with opaque keyset cursors."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from libs.domain.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数，默认 50，最多 500")]
CursorParam = Annotated[str | None, Query(description="上一页返回的 next_cursor")]


def encode_cursor(last_key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(last_key)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput("cursor", "分页游标无效，请从第一页重新查询。") from None


def page(rows: list[T], limit: int, key: Any) -> Page[T]:
    """``rows`` fetched with ``limit + 1``; ``key(row)`` gives the keyset value of a row."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(key(rows[-1])) if more and rows else None)
