"""Clerks' files for ``renda jurisdictions load`` and ``renda deputies import``: UTF-8 with or
without BOM, GBK (what Excel and WPS save on Chinese Windows), ``.xlsx``; a short row, an extra
column and an empty file are reported by row and field in zh-CN, never a traceback, and nothing
is half-loaded."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from openpyxl import Workbook

from libs.events.store import EventStore
from services.deputies.commands.files import import_deputies_file, load_jurisdictions_file
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.jurisdiction import JURISDICTION
from tests.deputies.places import fresh_tree
from tests.support.places import fresh

DEPUTY_HEADER = ["姓名", "性别", "层级", "所属人大", "编组乡镇", "选区", "届次", "代表构成", "电话", "补选", "当选日期"]


def write(path: Path, rows: list[list[str]], form: str) -> Path:
    """The rows as a clerk's program saves them: utf-8, utf-8-sig (BOM), gbk, or xlsx."""
    if form == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append([int(v) if v.isdigit() and len(v) < 12 else v for v in row])  # Excel keeps numbers
        target = path.with_suffix(".xlsx")
        book.save(target)
        return target
    target = path.with_suffix(".csv")
    target.write_bytes("".join(",".join(r) + "\r\n" for r in rows).encode(form))
    return target


def a_tree() -> list[list[str]]:
    city = fresh(lambda: str(random.randint(9000, 9999)))
    county = city + "01"
    return [
        ["code", "name", "kind", "parent"],
        [city, "测试市", "city", ""],
        [county, "测试县", "county", city],
        [county + "001", "甲镇", "township", county],
        [county + "002", "丙街道", "street", county],
    ]


@pytest.mark.parametrize("form", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
async def test_a_tree_loads_from_every_form_a_clerk_saves(form: str, nc, tmp_path: Path) -> None:
    rows = a_tree()
    store = EventStore(nc)
    report = await load_jurisdictions_file(write(tmp_path / "tree", rows, form), store)
    assert (report.registered, report.problems) == (4, []), report.problems
    township = (await store.load(JURISDICTION, rows[3][0], jurisdiction=rows[3][0])).state
    assert (township.name, township.kind, township.parent) == ("甲镇", "township", rows[2][0])


@pytest.mark.parametrize("form", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
async def test_deputies_import_from_every_form_a_clerk_saves(form: str, nc, tmp_path: Path) -> None:
    tree = await fresh_tree(nc)
    t = tree.township
    rows = [
        DEPUTY_HEADER,
        ["张三", "男", "乡镇", t, t, "第一选区", "第十八届", "农民", "13800000000", "否", "2021-11-20"],
        ["李四", "女", "县", tree.county, t, "第二选区", "18", "工人", "", "是", "2024-03-01"],
    ]
    store = EventStore(nc)
    report = await import_deputies_file(write(tmp_path / "deputies", rows, form), store)
    assert (report.registered, report.problems) == (2, []), report.problems
    zhang = (await store.load(DEPUTY, report.ids[0])).state
    li = (await store.load(DEPUTY, report.ids[1])).state
    assert (zhang.name, zhang.term, zhang.phone, zhang.elected_on.isoformat()) == (
        "张三",
        18,
        "13800000000",
        "2021-11-20",
    )
    assert (li.name, li.level, li.by_election) == ("李四", "county", True)


@pytest.mark.parametrize("form", ["utf-8", "gbk", "xlsx"])
async def test_a_short_row_and_an_extra_column_are_reported_by_row_and_field(form: str, nc, tmp_path: Path) -> None:
    tree = await fresh_tree(nc)
    t = tree.township
    rows = [
        DEPUTY_HEADER,
        ["张三", "男", "乡镇", t, t, "第一选区", "18", "农民", "", "否", "2021-11-20"],
        ["王五", "男", "乡镇", t],  # short: no constituency, no term
        ["赵六", "女", "乡镇", t, t, "第三选区", "18", "", "", "否", "2021-11-20", "多出的一列"],
    ]
    store = EventStore(nc)
    report = await import_deputies_file(write(tmp_path / "bad", rows, form), store)
    assert {(p.row, p.field) for p in report.problems} == {(3, "constituency"), (3, "term"), (4, "columns")}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.reason) for p in report.problems)  # zh-CN
    assert report.registered == 0 and report.ids == []  # nothing half-loaded: 张三 was fine, and not registered

    tree_rows = [*a_tree(), ["990101003", "短行"], ["990101004", "某镇", "township", "990101", "多余"]]
    loaded = await load_jurisdictions_file(write(tmp_path / "badtree", tree_rows, form), store)
    assert {(p.row, p.field) for p in loaded.problems} == {(6, "kind"), (7, "columns")}
    assert loaded.registered == 0
    assert not (await store.load(JURISDICTION, tree_rows[1][0], jurisdiction=tree_rows[1][0])).state.registered


@pytest.mark.parametrize(
    "content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", "姓名,性别\r\n".encode("gbk"), b"\x00\x01\x02garbage\xff\xfe"]
)
async def test_an_empty_or_unreadable_file_is_reported_not_raised(content: bytes, nc, tmp_path: Path) -> None:
    store = EventStore(nc)
    for name, load in (
        ("d.csv", import_deputies_file),
        ("j.csv", load_jurisdictions_file),
        ("x.xlsx", import_deputies_file),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        report = await load(path, store)
        assert report.problems and report.registered == 0, (name, content)
        assert all(p.row >= 1 and p.field and p.reason for p in report.problems)
