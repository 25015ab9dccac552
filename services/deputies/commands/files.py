"""Clerks' files: ``renda jurisdictions load`` and ``renda deputies import``, all rows or none.

A file is what Excel or WPS saves: CSV in UTF-8 (with or without BOM) or GBK/GB18030, or an
``.xlsx`` workbook (its first sheet). Every problem comes back by row (the header is row 1, as a
spreadsheet shows it) and field, in zh-CN; nothing is registered unless every row passes every
check. Each row's command id derives from the file's content and the row, so running the same
file again (after a crash, say) registers only what is missing and never twice.

The operator's verbs and the staff's uploads (``POST /api/deputies/import``,
``/api/deputies/jurisdictions/import``) run this same code: ``act`` gives each row's command its
context (the operator's, or the caller's with the row's own command id, ``caller_rows``), and
``principal`` adds the caller's jurisdiction to the checks every row passes before any is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from libs.auth.actor import Principal
from libs.domain.errors import AlreadyExists, DomainError, InvalidInput
from libs.events.store import Appended, EventStore
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden, validation_details
from services.deputies.commands.context import ID_NS, Context, OperatorContext, operator, sees
from services.deputies.commands.deputies import check_registration, register_deputy
from services.deputies.commands.jurisdictions import RegisterJurisdiction, register_jurisdiction
from services.deputies.domain.jurisdiction import JURISDICTION, TREE_HEADERS, RowProblem, check_tree

LOAD_NS = uuid.UUID("b8d3c1e4-7a2f-4c55-8e0b-1f2a3b4c5d6e")
IMPORT_NS = uuid.UUID("2a9d3c71-5e0b-4f8a-9c6d-7b1e0f2a3c45")
ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 reads GBK and GB2312 too
MAX_BYTES = 50 * 1024 * 1024


@dataclass
class FileReport:
    registered: int = 0
    existing: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


Act = Callable[[str, str], Context]  # (action, row's command id) → the context the row's command runs in


def operator_rows(store: EventStore) -> Act:
    return lambda action, command_id: operator(store, action, command_id=command_id)


@dataclass
class CallerRow(OperatorContext):
    """A row's command as the HTTP caller: the caller's principal and actor, the row's own command id."""

    caller: CommandContext | None = None

    def answered(self, done: Appended[Any]) -> None:
        if self.caller is not None:
            self.caller.answered(done)  # the answer's Renda-Position covers every row


def caller_rows(ctx: CommandContext) -> Act:
    return lambda _action, command_id: CallerRow(
        ctx.store, replace(ctx.meta, command_id=command_id), ctx.principal, ctx
    )


class UnreadableFile(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.problem = RowProblem(1, "file", reason)


# -- reading --------------------------------------------------------------------------------------
def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


def _xlsx(raw: bytes) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        if not book.sheet_names:
            return []
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # a damaged or encrypted workbook: said so, no traceback
        raise UnreadableFile(f"无法读取 Excel 文件（{type(exc).__name__}），请确认文件未损坏、未加密。") from exc
    return [[_cell(v) for v in row] for row in rows]


def _csv(raw: bytes) -> list[list[str]]:
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx 文件。")
    if "\x00" in text:
        raise UnreadableFile("文件不是 CSV 文本（含二进制内容），请另存为 CSV 或 .xlsx 文件。")
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))]
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式有误：{exc}。") from exc


def read_table(raw: bytes, name: str) -> list[list[str]]:
    """The file's rows of cells (header first); empty cells at a row's end and blank rows at the end dropped."""
    if len(raw) > MAX_BYTES:
        raise UnreadableFile(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入。")
    rows = _xlsx(raw) if name.lower().endswith((".xlsx", ".xlsm")) or raw[:4] == b"PK\x03\x04" else _csv(raw)
    trimmed = []
    for row in rows:  # a sheet is a rectangle: a cell nobody filled is no column
        while row and not row[-1].strip():
            row = row[:-1]
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


# -- the jurisdiction tree ------------------------------------------------------------------------
async def load_jurisdictions(
    raw: bytes, name: str, store: EventStore, *, principal: Principal | None = None, act: Act | None = None
) -> FileReport:
    """``principal``: a caller registers only below its own code, under parents it sees (else per row)."""
    act = act or operator_rows(store)
    try:
        table = read_table(raw, name)
    except UnreadableFile as exc:
        return FileReport(problems=[exc.problem])
    parents: set[str] = set()
    if table:
        header = [TREE_HEADERS.get(h.strip(), h.strip().lower()) for h in table[0]]
        if "parent" in header:
            i = header.index("parent")
            parents = {r[i].strip() for r in table[1:] if i < len(r) and r[i].strip()}
    known = set()
    for code in parents:
        if code.isdigit() and len(code) in (4, 6):
            if (await store.load(JURISDICTION, code, jurisdiction=code)).state.registered and sees(principal, code):
                known.add(code)  # a foreign parent reads as unregistered: nothing says it exists
    checked = check_tree(table, known=known)
    report = FileReport(problems=list(checked.problems))
    if principal is not None:
        report.problems += [
            RowProblem(row.row, "code", f"只能登记本辖区（{principal.jurisdiction}）之下的区划，收到「{row.code}」。")
            for row in checked.rows
            if not row.code.startswith(principal.jurisdiction) or row.code == principal.jurisdiction
        ]
    if report.problems:
        return report
    digest = hashlib.sha256(raw).hexdigest()
    for row in checked.rows:
        ctx = act(f"jurisdictions-load:{digest[:16]}", str(uuid.uuid5(LOAD_NS, f"{digest}/{row.code}")))
        c = RegisterJurisdiction(code=row.code, name=row.name, kind=row.kind, parent=row.parent)
        try:
            done = await register_jurisdiction(c, ctx)
        except AlreadyExists:
            report.existing += 1
            continue
        report.registered += 1 if done.envelopes else 0
        report.existing += 0 if done.envelopes else 1
        report.ids.append(row.code)
    return report


# -- deputies -------------------------------------------------------------------------------------
DEPUTY_HEADERS = {
    "姓名": "name",
    "性别": "gender",
    "层级": "level",
    "代表层级": "level",
    "所属人大": "congress",
    "选举单位代码": "congress",
    "编组乡镇": "township",
    "乡镇": "township",
    "选区": "constituency",
    "选举单位": "constituency",
    "届次": "term",
    "代表构成": "sector",
    "界别": "sector",
    "电话": "phone",
    "手机": "phone",
    "补选": "by_election",
    "当选日期": "elected_on",
}
DEPUTY_COLUMNS = (
    "name",
    "gender",
    "level",
    "congress",
    "township",
    "constituency",
    "term",
    "sector",
    "phone",
    "by_election",
    "elected_on",
)
REQUIRED = ("name", "gender", "level", "congress", "constituency", "term")
YES = {"是", "true", "1", "yes", "y", "补选"}
NO = {"否", "false", "0", "no", "n", ""}
MAX_DEPUTY_ROWS = 20_000


def _deputy_values(columns: list[str], cells: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in zip(columns, cells, strict=False):
        if name in DEPUTY_COLUMNS:
            values[name] = value.strip()
    flag = str(values.get("by_election", "")).lower()
    values["by_election"] = True if flag in YES else False if flag in NO else flag
    for optional in ("township", "phone", "elected_on", "sector"):
        if not values.get(optional):
            values.pop(optional, None)
    return values


def parse_deputies(table: list[list[str]], digest: str) -> tuple[list[tuple[int, str, Any]], list[RowProblem]]:
    """Rows as (row number, command id, RegisterDeputy) and every schema problem."""
    from services.deputies.api.deputies import DeputyIn  # the API's body: one schema for both ways in

    if not table or not any(c.strip() for c in table[0]):
        return [], [RowProblem(1, "file", "文件为空：第一行应为表头（姓名,性别,层级,所属人大,编组乡镇,选区,届次…）。")]
    columns = [DEPUTY_HEADERS.get(h.strip(), h.strip().lower()) for h in table[0]]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return [], [RowProblem(1, m, f"缺少必需的列「{m}」。") for m in missing]
    rows: list[tuple[int, str, Any]] = []
    problems: list[RowProblem] = []
    for n, cells in enumerate(table[1:], start=2):
        if n - 1 > MAX_DEPUTY_ROWS:
            problems.append(RowProblem(n, "file", f"一次最多导入 {MAX_DEPUTY_ROWS} 名代表，请分批导入。"))
            break
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            problems.append(RowProblem(n, "columns", f"本行有 {len(cells)} 列，多于表头的 {len(columns)} 列。"))
            continue
        try:
            body = DeputyIn.model_validate(_deputy_values(columns, cells))
        except ValidationError as exc:
            _, details = validation_details(exc)  # type: ignore[arg-type]
            problems += [RowProblem(n, d["field"], d["message"]) for d in details]
            continue
        command_id = str(uuid.uuid5(IMPORT_NS, f"{digest}/{n}"))
        deputy_id = str(uuid.uuid5(ID_NS, f"{command_id}/deputy"))
        rows.append((n, command_id, body.command(deputy_id)))
    if not rows and not problems:
        problems.append(RowProblem(2, "file", "文件只有表头，没有代表数据。"))
    return rows, problems


async def import_deputies(
    raw: bytes, name: str, store: EventStore, *, principal: Principal | None = None, act: Act | None = None
) -> FileReport:
    """``principal``: every deputy must live inside the caller's jurisdiction (else per row)."""
    act = act or operator_rows(store)
    try:
        table = read_table(raw, name)
    except UnreadableFile as exc:
        return FileReport(problems=[exc.problem])
    digest = hashlib.sha256(raw).hexdigest()
    rows, problems = parse_deputies(table, digest)
    report = FileReport(problems=problems)
    for n, _, c in rows:  # every rule, before anything is registered
        try:
            await check_registration(c, store, principal)
        except InvalidInput as exc:
            report.problems.append(RowProblem(n, exc.field, exc.text))
        except Forbidden as exc:  # outside the caller's jurisdiction
            report.problems.append(RowProblem(n, "township", exc.text))
        except DomainError as exc:
            report.problems.append(RowProblem(n, exc.code, exc.text))
    if report.problems:
        return report
    for _, command_id, c in rows:
        done = await register_deputy(c, act(f"deputies-import:{digest[:16]}", command_id))
        report.registered += 1 if done.envelopes else 0
        report.existing += 0 if done.envelopes else 1
        report.ids.append(c.deputy_id)
    return report


async def import_deputies_file(path: Path, store: EventStore) -> FileReport:
    return await import_deputies(path.read_bytes(), path.name, store)


async def load_jurisdictions_file(path: Path, store: EventStore) -> FileReport:
    return await load_jurisdictions(path.read_bytes(), path.name, store)
