"""Downloads of the same rows: CSV (UTF-8 with BOM, opens in Excel and WPS) and XLSX (Chinese
headers, frozen header row, widths, rates as percentages with the fraction beside)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from libs.domain.times import local_iso
from libs.figures.rates import RATE_NAMES
from services.supervision.flags import RATE_ZH, STATUS_ZH

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_ZH = {"township": "乡镇", "street": "街道", "county": "县（区）"}
OVERDUE_KIND_ZH = {"reply": "答复", "promise": "承诺", "review_opinion": "审议意见"}


@dataclass(frozen=True)
class Col:
    header: str
    get: Callable[[dict[str, Any]], Any]
    kind: str = "text"  # text | int | rate | time | date
    width: int = 12


def _field(path: Callable[[dict[str, Any]], dict[str, Any] | None], name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda i: (path(i) or {}).get(name)  # a county's rollup row has no presidium quarters


def rate_cols(path: Callable[[dict[str, Any]], dict[str, Any] | None]) -> list[Col]:
    out = []
    for name in RATE_NAMES:
        out.append(Col(RATE_ZH[name], _field(path, name), "rate", 14))
        out.append(Col(f"{RATE_ZH[name]}（分子/分母）", _field(path, name), "fraction", 12))
    return out


def flags_text(i: dict[str, Any]) -> str:
    return "；".join(f["message"] for f in i.get("flags", []))


TOWNSHIPS = [
    Col("区划代码", lambda i: i["code"], width=12),
    Col("乡镇（街道）", lambda i: i["name"], width=18),
    Col("类型", lambda i: KIND_ZH.get(i["kind"], i["kind"]), width=8),
    *[Col(f"{STATUS_ZH[s]}（件）", _field(lambda i: i.get("suggestions"), s), "int", 10) for s in STATUS_ZH],
    *rate_cols(lambda i: i.get("rates")),
    Col("人代会（次）", lambda i: i.get("sessions_held"), "int", 10),
    *[
        Col(f"主席团会议 {q}（次）", _field(lambda i: i.get("presidium_meetings"), q), "int", 10)
        for q in ("Q1", "Q2", "Q3", "Q4")
    ],
    Col("活跃代表（名）", _field(lambda i: i.get("deputies"), "active"), "int", 10),
    Col("不活跃代表（名）", _field(lambda i: i.get("deputies"), "inactive"), "int", 10),
    Col("问题", flags_text, width=60),
]
OVERDUE = [
    Col("建议", lambda i: i["title"], width=36),
    Col("乡镇（街道）", lambda i: i.get("township_name") or i["township"], width=16),
    Col("承办单位", lambda i: i.get("unit") or i.get("unit_id"), width=18),
    Col("应答复时间", lambda i: i["due_at"], "time", 20),
    Col("已逾期（天）", lambda i: i["overdue_days"], "int", 10),
    Col("逾期时长", lambda i: i["overdue_for"], width=12),
    Col("类型", lambda i: OVERDUE_KIND_ZH.get(i["kind"], i["kind"]), width=10),
    Col("编号", lambda i: i.get("suggestion_id") or i.get("review_opinion_id"), width=38),
]
UNITS = [
    Col("承办单位", lambda i: i["name"], width=20),
    Col("所属区划", lambda i: i.get("jurisdiction_name") or i.get("jurisdiction"), width=16),
    *rate_cols(lambda i: i["rates"]),
    Col("不满意（件）", lambda i: i["unsatisfied"], "int", 10),
    Col("超限", lambda i: "是" if i["over_limit"] else "否", width=8),
    Col("负责人", lambda i: i.get("head") or "", width=10),
    Col("分管副职", lambda i: i.get("deputy_head") or "", width=10),
]
JOINT = [
    Col("乡镇（街道）", lambda i: i.get("township_name") or i["township"], width=16),
    Col("已视察", lambda i: "是" if i["inspected"] else "否", width=8),
    Col("发现问题（条）", lambda i: i["findings"], "int", 12),
    Col("形成建议（件）", lambda i: len(i["suggestions"]), "int", 12),
    Col(
        "建议办理情况",
        lambda i: "；".join(f"{STATUS_ZH.get(k, k)} {v} 件" for k, v in i["suggestion_states"].items()),
        width=30,
    ),
]
FIVE_OPEN = [
    Col("建议", lambda i: i["title"], width=36),
    Col("乡镇（街道）", lambda i: i.get("township_name") or i["township"], width=16),
    Col("承办单位", lambda i: i.get("unit") or "", width=18),
    Col("答复期限", lambda i: i.get("due_at"), "time", 20),
    Col("办理结果", lambda i: i.get("result_zh") or "", width=26),
    Col("代表满意度", lambda i: i.get("satisfaction_zh") or "", width=10),
    Col("代表", lambda i: "、".join(i.get("deputies", [])), width=20),
]


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return "—" if value["rate"] is None else f"{value['rate'] * 100:.1f}%"
    if kind == "fraction":
        return f"{value['numerator']}/{value['denominator']}"
    if isinstance(value, datetime):
        return local_iso(value) or ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def to_csv(rows: list[dict[str, Any]], cols: list[Col], filename: str) -> Response:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.header for c in cols])
    for r in rows:
        w.writerow([_text(c.get(r), c.kind) for c in cols])
    data = "\ufeff" + buf.getvalue()
    return Response(
        data.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition(f"{filename}.csv")},
    )


def to_xlsx(rows: list[dict[str, Any]], cols: list[Col], filename: str, title: str) -> Response:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([c.header for c in cols])
    head = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8EEF7")
    for cell in ws[1]:
        cell.font = head
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r in rows:
        values: list[Any] = []
        for c in cols:
            v = c.get(r)
            if c.kind == "rate":
                values.append(None if v is None or v["rate"] is None else v["rate"])
            elif c.kind == "fraction":
                values.append(_text(v, c.kind))
            elif c.kind == "time" and isinstance(v, datetime):
                values.append(local_iso(v))
            elif c.kind == "int":
                values.append(v)
            else:
                values.append(_text(v, c.kind) if not isinstance(v, str) else v)
        ws.append(values)
    for idx, c in enumerate(cols, start=1):
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = c.width
        if c.kind == "rate":
            for cell in ws[letter][1:]:
                cell.number_format = "0.0%"
                if cell.value is None:
                    cell.value = "—"
                    cell.alignment = Alignment(horizontal="right")
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), media_type=XLSX, headers={"Content-Disposition": disposition(f"{filename}.xlsx")})


def download(fmt: str, rows: list[dict[str, Any]], cols: list[Col], filename: str, title: str) -> Response:
    return to_csv(rows, cols, filename) if fmt == "csv" else to_xlsx(rows, cols, filename, title)
