"""Importing deputies from CSV (``renda deputies import FILE.csv``): check every row, then register.

Columns (English or zh-CN headers): name 姓名, gender 性别, level 层级, congress 所属人大,
township 编组乡镇, constituency 选区, term 届次, sector 代表构成, phone 电话, by_election 补选,
elected_on 当选日期. Values may be English contract values or the zh-CN words clerks use
(男/女, 乡镇/县/市…). Nothing is registered unless every row passes every check (schema, tree,
domain rules); each row's command id derives from the file's content and the row, so running
the same file again registers only what is missing and never twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from libs.domain.errors import DomainError, InvalidInput
from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from libs.web.errors import validation_details
from services.deputies import commands
from services.deputies.api import DeputyIn

IMPORT_NS = uuid.UUID("2a9d3c71-5e0b-4f8a-9c6d-7b1e0f2a3c45")
HEADERS = {
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
COLUMNS = (
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
YES = {"是", "true", "1", "yes", "y", "补选"}
NO = {"否", "false", "0", "no", "n", ""}
MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet shows it: the header is row 1
    field: str
    reason: str


@dataclass
class ImportReport:
    registered: int = 0
    existing: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    deputy_ids: list[str] = field(default_factory=list)


def _row_values(raw: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            continue
        name = HEADERS.get(key.strip(), key.strip().lower())
        if name in COLUMNS:
            values[name] = (value or "").strip()
    flag = str(values.get("by_election", "")).lower()
    values["by_election"] = True if flag in YES else False if flag in NO else flag
    for optional in ("township", "phone", "elected_on"):
        if not values.get(optional):
            values.pop(optional, None)
    return values


def parse(text: str, digest: str) -> tuple[list[tuple[int, str, Any]], list[RowProblem]]:
    """Rows as (row number, command id, RegisterDeputy) and every schema problem."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in ("name", "gender", "level", "congress", "constituency", "term")
        if c not in {HEADERS.get(h.strip(), h.strip().lower()) for h in reader.fieldnames or []}
    ]
    if missing:
        return [], [RowProblem(1, m, f"缺少必需的列「{m}」。") for m in missing]
    rows: list[tuple[int, str, Any]] = []
    problems: list[RowProblem] = []
    for n, raw in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            problems.append(RowProblem(n, "row", f"一次最多导入 {MAX_ROWS} 名代表，请分批导入。"))
            break
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # a blank line
        try:
            body = DeputyIn.model_validate(_row_values(raw))
        except ValidationError as exc:
            _, details = validation_details(exc)  # type: ignore[arg-type]
            problems += [RowProblem(n, d["field"], d["message"]) for d in details]
            continue
        command_id = str(uuid.uuid5(IMPORT_NS, f"{digest}/{n}"))
        deputy_id = str(uuid.uuid5(commands.ID_NS, f"{command_id}/deputy"))
        rows.append((n, command_id, body.command(deputy_id)))
    return rows, problems


async def import_deputies_file(path: Path, store: EventStore, subject: str = "operator:cli") -> ImportReport:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    rows, problems = parse(raw.decode("utf-8-sig"), digest)
    report = ImportReport(problems=problems)
    if not problems and not rows:
        report.problems.append(RowProblem(1, "file", "文件中没有代表数据。"))
    for n, _, c in rows:  # every rule, before anything is registered
        try:
            await commands.check_registration(c, store, None)
        except InvalidInput as exc:
            report.problems.append(RowProblem(n, exc.field, exc.text))
        except DomainError as exc:
            report.problems.append(RowProblem(n, exc.code, exc.text))
    if report.problems:
        return report
    for _, command_id, c in rows:
        meta = CommandMeta(
            actor=Actor(subject=subject, role="operator"),
            correlation_id=f"deputies-import:{digest[:16]}",
            command_id=command_id,
            now=datetime.now(UTC),
        )
        done = await commands.register_deputy_as(c, store, None, meta)
        report.registered += 1 if done.envelopes else 0
        report.existing += 0 if done.envelopes else 1
        report.deputy_ids.append(c.deputy_id)
    return report
