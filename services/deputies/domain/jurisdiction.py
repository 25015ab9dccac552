"""The jurisdiction tree: city (4 digits) → county/district (6) → township or street (9).

Also the check of a whole tree file (``check_tree``): every problem by row and field, or every
row, parents first.

Streets are working committees of the district: no sessions, no presidium, no assigning.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from libs.domain.errors import AlreadyExists, InvalidInput
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.events import JurisdictionRegistered, Kind

CODE_LENGTH: dict[str, int] = {"city": 4, "county": 6, "township": 9, "street": 9}
PARENT_KIND: dict[str, tuple[str, ...]] = {
    "city": (),
    "county": ("city",),
    "township": ("county",),
    "street": ("county",),
}
KIND_ZH = {"city": "市", "county": "县（区）", "township": "乡镇", "street": "街道"}


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str = ""
    kind: Kind | None = None
    parent: str | None = None

    @property
    def registered(self) -> bool:
        return self.kind is not None

    @property
    def is_street(self) -> bool:
        return self.kind == "street"


def evolve(j: Jurisdiction, e: Event) -> Jurisdiction:
    match e:
        case JurisdictionRegistered():
            return Jurisdiction(code=e.code, name=e.name, kind=e.kind, parent=e.parent)
    return j


JURISDICTION = AggregateType[Jurisdiction](
    name="jurisdiction", context="deputies", initial=lambda code: Jurisdiction(code=code), evolve=evolve
)


def check_code(code: str, kind: str) -> None:
    length = CODE_LENGTH[kind]
    if not code.isdigit() or len(code) != length:
        raise InvalidInput("code", f"{KIND_ZH[kind]}的区划代码应为 {length} 位数字，收到「{code}」。")


def decide_register(current: Jurisdiction, *, name: str, kind: Kind, parent: Jurisdiction | None) -> list[Event]:
    """Register ``current.code``; ``parent`` is the parent as loaded (None when none was named)."""
    check_code(current.code, kind)
    if current.registered:
        raise AlreadyExists(f"区划代码 {current.code}（{current.name}）已登记，不能重复登记。", code=current.code)
    if not name.strip():
        raise InvalidInput("name", "名称不能为空。")
    wanted = PARENT_KIND[kind]
    if not wanted:
        if parent is not None:
            raise InvalidInput("parent", "市级区划没有上级区划，请不要填写 parent。")
        return [JurisdictionRegistered(code=current.code, name=name.strip(), kind=kind, parent=None)]
    if parent is None:
        raise InvalidInput("parent", f"{KIND_ZH[kind]}必须填写上级区划代码 parent。")
    if not parent.registered:
        raise InvalidInput("parent", f"上级区划 {parent.code} 尚未登记，请先登记上级区划。")
    if parent.kind not in wanted:
        raise InvalidInput(
            "parent",
            f"{KIND_ZH[kind]}的上级应为{KIND_ZH[wanted[0]]}，而 {parent.code} 是{KIND_ZH[parent.kind or 'city']}。",
        )
    if not current.code.startswith(parent.code):
        raise InvalidInput("code", f"区划代码 {current.code} 应以上级区划代码 {parent.code} 开头。")
    return [JurisdictionRegistered(code=current.code, name=name.strip(), kind=kind, parent=parent.code)]


# ---- a tree file (``renda jurisdictions load``): all rows or none -------------------------------
TREE_COLUMNS: tuple[str, ...] = ("code", "name", "kind", "parent")
TREE_HEADERS: dict[str, str] = {"代码": "code", "区划代码": "code", "名称": "name", "类型": "kind", "上级": "parent"}
KIND_WORDS: dict[str, str] = {"市": "city", "县": "county", "区": "county", "县（区）": "county", "乡": "township"}
KIND_WORDS |= {"镇": "township", "乡镇": "township", "街道": "street"}
MAX_NAME = 50
MAX_TREE_ROWS = 100_000


@dataclass(frozen=True)
class TreeRow:
    row: int  # as a spreadsheet shows it: the header is row 1
    code: str
    name: str
    kind: Kind
    parent: str | None


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class TreeCheck:
    rows: tuple[TreeRow, ...]  # empty whenever there is a problem; parents first
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_tree(table: list[list[str]], *, known: Collection[str] = ()) -> TreeCheck:
    """Validate a whole tree file given as rows of cells (header first); ``known``: codes registered already."""
    if not table or not any(c.strip() for c in table[0]):
        return _failed([RowProblem(1, "file", "文件为空：第一行应为表头 code,name,kind,parent。")])
    columns = [TREE_HEADERS.get(h.strip(), h.strip().lower()) for h in table[0]]
    missing = [c for c in TREE_COLUMNS if c not in columns]
    if missing:
        return _failed([RowProblem(1, m, f"表头缺少「{m}」列：应为 code,name,kind,parent。") for m in missing])
    index = {c: columns.index(c) for c in TREE_COLUMNS}
    problems: list[RowProblem] = []
    rows: list[TreeRow] = []
    codes_in_file: dict[str, int] = {}  # code -> first row, invalid rows included
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are no rows
        if number - 1 > MAX_TREE_ROWS:
            problems.append(RowProblem(number, "file", f"文件超过 {MAX_TREE_ROWS} 行，请分批导入。"))
            break
        if len(values) > len(columns) and any(v.strip() for v in values[len(columns) :]):
            problems.append(RowProblem(number, "columns", f"本行有 {len(values)} 列，多于表头的 {len(columns)} 列。"))
            continue
        code = values[index["code"]].strip() if index["code"] < len(values) else ""
        if code in codes_in_file:
            problems.append(RowProblem(number, "code", f"代码「{code}」与第 {codes_in_file[code]} 行重复。"))
        elif code:
            codes_in_file[code] = number
        row = _tree_row(number, values, index, problems)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(2, "file", "文件只有表头，没有区划数据。"))
    known_codes = set(codes_in_file) | set(known)
    problems += [
        RowProblem(r.row, "parent", f"上级「{r.parent}」既不在本文件中，也未登记。")
        for r in rows
        if r.parent is not None and r.parent not in known_codes
    ]
    if problems:
        return _failed(problems)
    order = {"city": 0, "county": 1, "township": 2, "street": 2}
    return TreeCheck(rows=tuple(sorted(rows, key=lambda r: (order[r.kind], r.row))), problems=())


def _tree_row(number: int, values: list[str], index: dict[str, int], problems: list[RowProblem]) -> TreeRow | None:
    def cell(name: str) -> str:
        i = index[name]
        return values[i].strip() if i < len(values) else ""

    code, name, parent = cell("code"), cell("name"), cell("parent")
    kind = KIND_WORDS.get(cell("kind"), cell("kind").lower())
    found: list[RowProblem] = []
    if kind not in CODE_LENGTH:
        found.append(RowProblem(number, "kind", f"类型「{kind}」无效：应为 city、county、township 或 street。"))
    if not code.isdigit():
        found.append(RowProblem(number, "code", f"代码「{code}」应为数字。"))
    elif kind in CODE_LENGTH and len(code) != CODE_LENGTH[kind]:
        reason = f"{KIND_ZH[kind]}的代码应为 {CODE_LENGTH[kind]} 位，「{code}」是 {len(code)} 位。"
        found.append(RowProblem(number, "code", reason))
    if not name:
        found.append(RowProblem(number, "name", "名称不能为空。"))
    elif len(name) > MAX_NAME:
        found.append(RowProblem(number, "name", f"名称不能超过 {MAX_NAME} 字。"))
    wanted = PARENT_KIND.get(kind, ())
    if wanted:
        length = CODE_LENGTH[wanted[0]]
        if not parent:
            found.append(RowProblem(number, "parent", f"{KIND_ZH[kind]}必须填写上级代码。"))
        elif not (parent.isdigit() and len(parent) == length):
            found.append(RowProblem(number, "parent", f"{KIND_ZH[kind]}的上级代码应为 {length} 位数字。"))
        elif code.isdigit() and not code.startswith(parent):
            found.append(RowProblem(number, "parent", f"代码「{code}」不以上级代码「{parent}」开头。"))
    elif kind == "city" and parent:
        found.append(RowProblem(number, "parent", "市是区划树的顶层，上级代码应留空。"))
    problems.extend(found)
    if found:
        return None
    return TreeRow(row=number, code=code, name=name, kind=cast(Kind, kind), parent=parent or None)


def _failed(problems: list[RowProblem]) -> TreeCheck:
    order = {c: i for i, c in enumerate(("file", "columns", *TREE_COLUMNS))}
    return TreeCheck(rows=(), problems=tuple(sorted(problems, key=lambda p: (p.row, order.get(p.field, 99)))))
