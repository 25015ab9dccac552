"""Checking a jurisdiction tree file: every bad row reported, nothing half-loaded."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from services.deputies.domain.jurisdiction import RowProblem as CsvProblem
from services.deputies.domain.jurisdiction import TreeCheck, check_tree

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "samples" / "jurisdictions-340400.csv"
HEADER = "code,name,kind,parent\n"


def parse_jurisdiction_csv(text: str, known: Collection[str] = ()) -> TreeCheck:
    return check_tree(list(csv.reader(io.StringIO(text.lstrip("\ufeff")))), known=known)


def test_the_sample_of_tianjiaan_district_loads_whole_parents_first():
    result = parse_jurisdiction_csv(SAMPLE.read_text(encoding="utf-8"))
    assert result.ok, result.problems
    kinds = [r.kind for r in result.rows]
    assert kinds[:2] == ["city", "county"]
    assert sum(k == "street" for k in kinds) == 9 and sum(k == "township" for k in kinds) == 5
    assert {r.parent for r in result.rows[2:]} == {"340403"}


def test_a_bom_and_blank_lines_are_tolerated():
    text = "\ufeff" + HEADER + "3404,淮南市,city,\n\n340403,田家庵区,county,3404\n"
    assert [r.code for r in parse_jurisdiction_csv(text).rows] == ["3404", "340403"]


def test_every_bad_row_is_reported_and_nothing_is_loaded():
    text = HEADER + "\n".join(
        [
            "3404,淮南市,city,",  # row 2: fine
            "340403,田家庵区,county,3404",  # row 3: fine
            "34040300,田东街道,street,340403",  # row 4: 8 digits
            "340403002,,street,340403",  # row 5: no name
            "340403003,国庆街道,village,340403",  # row 6: unknown kind
            "340404001,谢家集街道,street,340403",  # row 7: code not under its parent
            "340403100,舜耕镇,township,340499",  # row 8: parent nowhere
            "340403100,舜耕镇,township,340403",  # row 9: duplicate of row 8
            "340403101,安成镇,township,",  # row 10: no parent
        ]
    )
    result = parse_jurisdiction_csv(text)
    assert not result.ok and result.rows == ()
    assert [(p.row, p.field) for p in result.problems] == [
        (4, "code"),
        (5, "name"),
        (6, "kind"),
        (7, "parent"),
        (8, "parent"),
        (9, "code"),
        (10, "parent"),
    ]
    assert all(p.reason for p in result.problems)


def test_a_parent_known_already_is_accepted():
    result = parse_jurisdiction_csv(HEADER + "340403201,史院乡,township,340403\n", known={"340403"})
    assert result.ok and result.rows[0].parent == "340403"


def test_a_parent_missing_from_file_and_registry_is_refused_in_zh():
    [p] = parse_jurisdiction_csv(HEADER + "340403201,史院乡,township,340403\n").problems
    assert p == CsvProblem(2, "parent", p.reason) and "340403" in p.reason


def test_a_child_listed_before_its_parent_is_fine():
    text = HEADER + "340403201,史院乡,township,340403\n340403,田家庵区,county,3404\n3404,淮南市,city,\n"
    assert [r.code for r in parse_jurisdiction_csv(text).rows] == ["3404", "340403", "340403201"]


def test_a_child_of_an_invalid_row_blames_only_that_row():
    text = HEADER + "340403,,county,3404\n340403201,史院乡,township,340403\n"
    result = parse_jurisdiction_csv(text, known={"3404"})
    assert [(p.row, p.field) for p in result.problems] == [(2, "name")]


def test_a_city_has_no_parent():
    [p] = parse_jurisdiction_csv(HEADER + "3404,淮南市,city,34\n").problems
    assert (p.row, p.field) == (2, "parent")


def test_a_missing_column_is_reported_on_the_header():
    result = parse_jurisdiction_csv("code,name,parent\n3404,淮南市,\n")
    assert [(p.row, p.field) for p in result.problems] == [(1, "kind")]


def test_an_empty_file_is_reported():
    assert not parse_jurisdiction_csv("").ok


@given(st.lists(st.text(alphabet="0123456789,abc淮\n", max_size=30), max_size=8))
def test_the_result_is_all_or_nothing(lines):
    result = parse_jurisdiction_csv(HEADER + "\n".join(lines))
    assert (result.rows == ()) or (result.problems == ())


def test_a_short_row_names_its_missing_fields_and_an_extra_column_is_refused():
    rows = "3404,淮南市,city,\n340403,田家庵区\n340403001,某街道,street,340403,多余\n"
    result = parse_jurisdiction_csv(HEADER + rows)
    assert [(p.row, p.field) for p in result.problems] == [(3, "kind"), (4, "columns")]
    assert all(p.reason for p in result.problems)


def test_a_header_without_rows_is_reported():
    [p] = parse_jurisdiction_csv(HEADER).problems
    assert p.field == "file"
