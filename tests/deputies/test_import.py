"""``renda deputies import``: every row checked first (schema, tree, rules), nothing half-loaded,
and the same file twice registers nothing twice."""

from __future__ import annotations

from pathlib import Path

from libs.events.store import EventStore
from services.deputies.commands.files import import_deputies_file
from services.deputies.domain.deputy import DEPUTY
from tests.deputies.places import fresh_tree

HEADER = "姓名,性别,层级,所属人大,编组乡镇,选区,届次,代表构成,电话,补选,当选日期\n"


async def test_a_file_with_a_bad_row_registers_nobody_then_loads_once(nc, tmp_path: Path) -> None:
    tree = await fresh_tree(nc)
    store = EventStore(nc)
    t, s = tree.township, tree.street
    good = [
        f"张三,男,乡镇,{t},{t},第一选区,18,农民,13800000000,否,2021-11-20\n",
        f"李四,女,县,{tree.county},{t},第二选区,18,工人,,是,2024-03-01\n",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "".join(good) + f"王五,未知,乡镇,{t},,第三选区,第X届,,,否,\n" + f"赵六,男,乡镇,{s},,第四选区,18,,,,\n",
        encoding="utf-8",
    )
    report = await import_deputies_file(bad, store)
    # every problem of every row, with its row number: the schema's and the rules' (a street has no congress)
    assert {(p.row, p.field) for p in report.problems} == {(4, "gender"), (4, "term"), (5, "not_for_street")}
    assert report.registered == 0 and report.ids == []

    ok = tmp_path / "ok.csv"
    ok.write_text(HEADER + "".join(good), encoding="utf-8")
    first = await import_deputies_file(ok, store)
    assert (first.registered, first.existing, first.problems) == (2, 0, [])
    again = await import_deputies_file(ok, store)
    assert (again.registered, again.existing) == (0, 2) and again.ids == first.ids
    zhang = (await store.load(DEPUTY, first.ids[0])).state
    li = (await store.load(DEPUTY, first.ids[1])).state
    assert (zhang.name, zhang.level, zhang.township, zhang.phone) == ("张三", "township", t, "13800000000")
    assert (li.level, li.congress, li.by_election) == ("county", tree.county, True)
