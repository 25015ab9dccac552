"""One rendering of every error: ``{"error": {"code", "message", "details"}}``, never a stack trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nats import errors as nats_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.domain.errors import DomainError
from libs.domain.field_labels import label
from libs.events.errors import ConcurrencyConflict, EventStoreError

log = structlog.get_logger("web")


class Unauthenticated(Exception):
    code = "unauthenticated"
    message = "请先登录（缺少有效的访问令牌，或令牌已过期）。"


class Forbidden(Exception):
    code = "forbidden"
    message = "您的角色无权进行此操作。"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.text = message or self.message


class NotVisible(Exception):
    """A record outside the caller's jurisdiction: answered exactly like a missing one."""


class ReadModelBehind(Exception):
    code = "read_model_behind"
    message = "数据正在同步，请稍后刷新。"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def respond(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


_FIELD_MESSAGES = {
    "missing": "必填项「{f}」未填写。",
    "json_invalid": "请求内容不是有效的 JSON。",
    "string_too_short": "「{f}」不能为空或过短。",
    "string_too_long": "「{f}」过长。",
    "literal_error": "「{f}」的取值无效，可选值：{expected}。",
    "enum": "「{f}」的取值无效，可选值：{expected}。",
    "string_pattern_mismatch": "「{f}」的格式不正确。",
    "datetime_from_date_parsing": "「{f}」不是有效的时间（例如 2026-03-01T09:00:00+08:00）。",
    "datetime_parsing": "「{f}」不是有效的时间（例如 2026-03-01T09:00:00+08:00）。",
    "date_from_datetime_parsing": "「{f}」不是有效的日期（例如 2026-03-01）。",
    "date_parsing": "「{f}」不是有效的日期（例如 2026-03-01）。",
    "int_parsing": "「{f}」必须是整数。",
    "greater_than_equal": "「{f}」的值过小。",
    "less_than_equal": "「{f}」的值过大。",
    "extra_forbidden": "不认识的字段「{f}」，请检查拼写。",
    "model_attributes_type": "请求内容必须是一个 JSON 对象。",
    "dict_type": "请求内容必须是一个 JSON 对象。",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_details(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for err in exc.errors():
        field = _field_name(tuple(err.get("loc", ())))
        named = "请求内容" if field == "body" and "body" not in tuple(err.get("loc", ()))[1:] else label(field)
        ctx = err.get("ctx") or {}
        template = _FIELD_MESSAGES.get(err.get("type", ""))
        if template:
            expected = str(ctx.get("expected", "")).replace(" or ", "、").replace("', '", "'、'")
            message = template.format(f=named, expected=expected)
        elif err.get("type") == "value_error":
            message = f"「{named}」：{ctx.get('error', err.get('msg', ''))!s}"
        else:
            message = f"「{named}」的值无效。"
        details.append({"field": field, "message": message, "type": err.get("type")})
    return (details[0]["message"] if details else "输入有误。"), details


def _details(details: list[dict[str, Any]]) -> dict[str, Any]:
    """``field`` names the first offending field; ``errors`` lists them all."""
    return {"field": details[0]["field"] if details else None, "errors": details}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            for d in details:
                d["field"] = "body"
            return respond(400, "malformed_json", "请求内容不是有效的 JSON，请检查格式。", _details(details))
        return respond(422, "invalid_input", message, _details(details))

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        details = exc.details
        return respond(exc.status, exc.code, exc.text, details)

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return respond(409, exc.code, exc.message)

    @app.exception_handler(EventStoreError)
    async def _store(_: Request, exc: EventStoreError) -> JSONResponse:
        log.error("events.store_error", error=str(exc), code=exc.code)
        return respond(503, exc.code, exc.message, headers={"Retry-After": "2"})

    @app.exception_handler(nats_errors.NoRespondersError)
    @app.exception_handler(nats_errors.TimeoutError)
    @app.exception_handler(nats_errors.ConnectionClosedError)
    @app.exception_handler(nats_errors.StaleConnectionError)
    async def _nats_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # A leader election, a node restarting: the outcome of a command is unknown to us. The client
        # retries with the same Idempotency-Key, which records nothing twice.
        log.warning("events.unavailable", error_type=type(exc).__name__)
        return respond(
            503,
            "event_store_unavailable",
            "事件库暂时不可用（集群切换中），请稍后用同一请求重试；重复提交不会重复记录。",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Unauthenticated)
    async def _unauth(_: Request, exc: Unauthenticated) -> JSONResponse:
        return respond(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return respond(403, exc.code, exc.text)

    @app.exception_handler(NotVisible)
    async def _not_visible(_: Request, exc: NotVisible) -> JSONResponse:
        return respond(404, "not_found", "找不到该记录，或您无权查看。")

    @app.exception_handler(ReadModelBehind)
    async def _behind(_: Request, exc: ReadModelBehind) -> JSONResponse:
        return respond(503, exc.code, exc.message, headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            400: ("malformed_json", "请求内容不是有效的 UTF-8 JSON（例如用了 GBK 编码），请以 UTF-8 编码重新提交。"),
            404: ("not_found", "找不到该地址。"),
            405: ("method_not_allowed", "该地址不支持此请求方法。"),
            413: ("too_large", "提交的内容过大。"),
            415: ("unsupported_media_type", "不支持的内容类型，请以 JSON 提交。"),
        }
        if exc.status_code == 400 and "parsing the body" not in str(exc.detail):
            codes[400] = ("bad_request", "请求无法解析，请检查提交的内容。")
        code, message = codes.get(exc.status_code, ("http_error", "请求无法处理，请检查后重试。"))
        details = {"field": "body"} if code == "malformed_json" else None
        return respond(exc.status_code, code, message, details)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("web.unexpected_error", error_type=type(exc).__name__)
        return respond(500, "internal_error", "系统内部错误，已记录。请稍后重试，或联系运维人员。")
