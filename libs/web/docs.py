"""API documentation that works with the network closed, and documents the errors every operation can give.

- ``/api/<service>/docs`` serves Swagger UI from the installed ``fastapi-offline`` package's files
  (no CDN), under ``/api/<service>/docs-static/`` so the gateway routes them to the service.
- Every operation of the OpenAPI document lists 400/401/403/404/409/422/429 (and 503 for a read model
  still catching up) with the contract's error shape, unless it documents its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "机器可读的错误代码，例如 consultation_required"},
                "message": {"type": "string", "description": "给办事人员看的中文说明"},
                "details": {"description": "补充信息，例如出错的字段 field"},
            },
        }
    },
}
ERRORS: dict[str, str] = {
    "400": "请求内容不是有效的 JSON（malformed_json）",
    "401": "未登录或令牌无效",
    "403": "超出角色或辖区权限",
    "404": "找不到，或无权查看",
    "409": "当前状态不允许此操作，或并发冲突（可安全重试）",
    "422": "输入有误，details.field 指出字段",
    "429": "登录失败次数过多，账号临时锁定（details.retry_after 秒后再试）",
    "503": "读模型正在追赶或事件库暂不可用，稍后重试",
}


def install_offline_docs(app: FastAPI, prefix: str, title: str) -> None:
    """Swagger UI at ``{prefix}/docs`` with its assets served by this app (create the app with docs_url=None)."""
    static = f"{prefix}/docs-static"
    app.mount(static, StaticFiles(directory=ASSETS), name="docs-static")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title=f"{title} - 接口文档",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon.png",
        )

    app.add_api_route(f"{prefix}/docs", docs, methods=["GET"], include_in_schema=False)


def document_errors(app: FastAPI) -> None:
    """Every operation documents the contract's error answers (its own documented ones win)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
        )
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/Error"}
        for item in doc.get("paths", {}).values():
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                for status, text in ERRORS.items():
                    answer = op["responses"].setdefault(status, {"description": text})
                    answer.setdefault("content", {"application/json": {"schema": ref}})
                    if status == "422":  # FastAPI's own 422 schema is not what we answer
                        answer["content"] = {"application/json": {"schema": ref}}
                        answer["description"] = text
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
