"""Parsing a jurisdiction tree CSV (``code,name,kind,parent``), all or nothing.

Either every row is valid and the rows come back parents first, or nothing does and every
problem comes back with its row number (the header is row 1, as a spreadsheet shows it), the
field and a zh-CN reason. Codes are national division codes: 4 digits for a city, 6 for a
county or district, 9 for a township, town or street; a child's code starts with its parent's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, cast

Kind = Literal["city", "county", "township", "street"]
KINDS: tuple[Kind, ...] = ("city", "county", "township", "street")
COLUMNS: tuple[str, ...] = ("code", "name", "kind", "parent")
CODE_LENGTH: dict[str, int] = {"city": 4, "county": 6, "township": 9, "street": 9}
PARENT_LENGTH: dict[str, int] = {"county": 4, "township": 6, "street": 6}
KIND_ZH: dict[str, str] = {"city": "市", "county": "县（区）", "township": "乡镇", "street": "街道"}
MAX_NAME = 50
MAX_ROWS = 100_000


@dataclass(frozen=True)
class JurisdictionRow:
    row: int
    code: str
    name: str
    kind: Kind
    parent: str | None


@dataclass(frozen=True)
class CsvProblem:
    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class CsvResult:
    rows: tuple[JurisdictionRow, ...]  # empty whenever there is a problem
    problems: tuple[CsvProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_jurisdiction_csv(text: str, *, known: Collection[str] = ()) -> CsvResult:
    """Validate the whole file; ``known`` holds codes already registered (valid parents)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return _fail([CsvProblem(1, "code", "文件为空：第一行应为表头 code,name,kind,parent。")])
    columns = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        return _fail([CsvProblem(1, m, f"表头缺少「{m}」列：应为 code,name,kind,parent。") for m in missing])
    index = {c: columns.index(c) for c in COLUMNS}

    problems: list[CsvProblem] = []
    rows: list[JurisdictionRow] = []
    codes_in_file: dict[str, int] = {}  # code -> first row, invalid rows included
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are no rows
        if len(rows) >= MAX_ROWS:
            problems.append(CsvProblem(number, "code", f"文件超过 {MAX_ROWS} 行，请分批导入。"))
            break
        code = values[index["code"]].strip() if index["code"] < len(values) else ""
        if code in codes_in_file:
            reason = f"代码「{code}」与第 {codes_in_file[code]} 行重复。"
            problems.append(CsvProblem(number, "code", reason))
        elif code:
            codes_in_file[code] = number
        row = _row(number, values, index, problems)
        if row is not None:
            rows.append(row)

    problems.extend(_parent_problems(rows, set(codes_in_file) | set(known)))
    if problems:
        return _fail(problems)
    order = {"city": 0, "county": 1, "township": 2, "street": 2}
    return CsvResult(rows=tuple(sorted(rows, key=lambda r: (order[r.kind], r.row))), problems=())


def _row(number: int, values: list[str], index: dict[str, int], problems: list[CsvProblem]) -> JurisdictionRow | None:
    def cell(name: str) -> str:
        i = index[name]
        return values[i].strip() if i < len(values) else ""

    code, name, kind, parent = cell("code"), cell("name"), cell("kind").lower(), cell("parent")
    found: list[CsvProblem] = []
    if kind not in KINDS:
        reason = f"类型「{kind}」无效：应为 city、county、township 或 street。"
        found.append(CsvProblem(number, "kind", reason))
    if not code.isdigit():
        found.append(CsvProblem(number, "code", f"代码「{code}」应为数字。"))
    elif kind in KINDS and len(code) != CODE_LENGTH[kind]:
        reason = f"{KIND_ZH[kind]}的代码应为 {CODE_LENGTH[kind]} 位，「{code}」是 {len(code)} 位。"
        found.append(CsvProblem(number, "code", reason))
    if not name:
        found.append(CsvProblem(number, "name", "名称不能为空。"))
    elif len(name) > MAX_NAME:
        found.append(CsvProblem(number, "name", f"名称不能超过 {MAX_NAME} 字。"))
    if kind in PARENT_LENGTH:
        if not parent:
            found.append(CsvProblem(number, "parent", f"{KIND_ZH[kind]}必须填写上级代码。"))
        elif not (parent.isdigit() and len(parent) == PARENT_LENGTH[kind]):
            found.append(CsvProblem(number, "parent", f"{KIND_ZH[kind]}的上级代码应为 {PARENT_LENGTH[kind]} 位数字。"))
        elif code.isdigit() and not code.startswith(parent):
            found.append(CsvProblem(number, "parent", f"代码「{code}」不以上级代码「{parent}」开头。"))
    elif kind == "city" and parent:
        found.append(CsvProblem(number, "parent", "市是区划树的顶层，上级代码应留空。"))
    problems.extend(found)
    if found:
        return None
    return JurisdictionRow(row=number, code=code, name=name, kind=cast(Kind, kind), parent=parent or None)


def _parent_problems(rows: list[JurisdictionRow], known: set[str]) -> list[CsvProblem]:
    """Parents found neither in the file (invalid rows included) nor among ``known`` codes."""
    return [
        CsvProblem(r.row, "parent", f"上级「{r.parent}」既不在本文件中，也未登记。")
        for r in rows
        if r.parent is not None and r.parent not in known
    ]


def _fail(problems: list[CsvProblem]) -> CsvResult:
    return CsvResult(rows=(), problems=tuple(sorted(problems, key=lambda p: (p.row, COLUMNS.index(p.field)))))
