"""HTTP routes of the clerks' files: the same imports as ``renda deputies import`` and ``renda jurisdictions
load`` (``commands/files.py``, one code path), as the caller, inside the caller's jurisdiction.

A multipart ``file``: CSV in UTF-8 or GBK, or .xlsx. All rows or none: a file that passes answers
200 ``{"imported", "skipped", "errors": [], "ids", "message"}``; a file with any problem stores
nothing and answers 422 ``invalid_file`` whose ``details`` hold the same report, every problem by
row and field (``{"row", "field", "message"}``, the header is row 1). Each row's command id
derives from the file's content and the row, so the same file again registers only what is
missing (``skipped`` counts what was there already).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import JSONResponse

from libs.auth.access import OVER_TOWNSHIPS, STAFF_ROLES
from libs.web.deps import CommandContext, command_context
from libs.web.errors import error_body
from services.deputies.commands.files import MAX_BYTES, FileReport, caller_rows, import_deputies, load_jurisdictions

router = APIRouter(prefix="/api/deputies", tags=["代表"])

UPLOAD = File(description="CSV（UTF-8 或 GBK 编码）或 Excel .xlsx 文件，第一行为表头")
IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "文件有误：逐行列出问题，未导入任何数据"}}


async def _read(file: UploadFile) -> bytes:
    return await file.read(MAX_BYTES + 1)  # one byte more: read_table refuses a file over the limit


def _answer(report: FileReport, what: str, unit: str) -> dict[str, Any] | JSONResponse:
    errors = [{"row": p.row, "field": p.field, "message": p.reason} for p in report.problems]
    body: dict[str, Any] = {"imported": report.registered, "skipped": report.existing, "errors": errors}
    if not errors:
        done = f"导入完成：新登记 {report.registered} {unit}，已存在（跳过） {report.existing} {unit}。"
        return {**body, "ids": report.ids, "message": done}
    message = f"文件共有 {len(errors)} 处错误（第 {errors[0]['row']} 行起），未{what}；请按逐行说明修改后重新上传。"
    details = {"field": "file", **body}  # the same report, in the contract's error shape
    return JSONResponse(error_body("invalid_file", message, details), status_code=422)


@router.post("/import", responses=IMPORT_ERRORS)
async def post_deputies_import(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))],
    file: Annotated[UploadFile, UPLOAD],
) -> Any:
    """代表名册导入（与 ``renda deputies import`` 相同）：每名代表须在本辖区内；全部通过才登记。"""
    raw = await _read(file)
    report = await import_deputies(
        raw, file.filename or "upload.csv", ctx.store, principal=ctx.principal, act=caller_rows(ctx)
    )
    return _answer(report, "导入任何代表", "名")


@router.post("/jurisdictions/import", responses=IMPORT_ERRORS)
async def post_jurisdictions_import(
    ctx: Annotated[CommandContext, Depends(command_context(*OVER_TOWNSHIPS))],
    file: Annotated[UploadFile, UPLOAD],
) -> Any:
    """区划导入（与 ``renda jurisdictions load`` 相同）：只能登记本辖区之下的区划；全部通过才登记。"""
    raw = await _read(file)
    report = await load_jurisdictions(
        raw, file.filename or "upload.csv", ctx.store, principal=ctx.principal, act=caller_rows(ctx)
    )
    return _answer(report, "载入任何区划", "个")
