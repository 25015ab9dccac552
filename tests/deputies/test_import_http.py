"""The clerks' files over HTTP: ``POST /api/deputies/import`` and ``/api/deputies/jurisdictions/import`` do what
``renda deputies import`` and ``renda jurisdictions load`` do (one code path), as the caller and inside the
caller's jurisdiction: all rows or none, a report by row in zh-CN, the same file twice stores nothing twice."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.deputies.domain.deputy import DEPUTY
from tests.deputies.places import after, fresh_tree
from tests.support.system import System, running_system

HEADER = ["姓名", "性别", "层级", "所属人大", "编组乡镇", "选区", "届次", "代表构成", "电话", "补选", "当选日期"]


def problems(r: Any) -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in r.json()["error"]["details"]["errors"]}


def gbk_csv(rows: list[list[str]]) -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode("gbk")


def xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(system: System, path: str, headers: dict[str, str], name: str, content: bytes, **extra: str) -> Any:
    return await system.client.post(
        path, files={"file": (name, content, "application/octet-stream")}, headers={**headers, **extra}
    )


async def test_deputies_import_over_http(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    tree = await fresh_tree(nc)
    t = tree.township
    good = [
        ["张三", "男", "乡镇", t, t, "第一选区", "18", "农民", "13800000000", "否", "2021-11-20"],
        ["李四", "女", "县", tree.county, t, "第二选区", "第十八届", "工人", "", "是", "2024-03-01"],
    ]
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        clerk = system.auth("township_staff", t, subject="clerk-import")
        path = "/api/deputies/import"

        # A row with schema problems and a row outside the clerk's township: nothing is registered.
        bad = [
            HEADER,
            *good,
            ["王五", "未知", "乡镇", t, "", "第三选区", "第X届"],
            ["赵六", "男", "乡镇", tree.other, tree.other, "第四选区", "18"],
        ]
        r = await upload(system, path, clerk, "名册.xlsx", xlsx(bad))
        assert r.status_code == 422, r.text
        assert set(r.json()) == {"error"} and r.json()["error"]["code"] == "invalid_file"
        report = r.json()["error"]["details"]
        assert (report["field"], report["imported"], report["skipped"]) == ("file", 0, 0)
        assert problems(r) == {(4, "gender"), (4, "term"), (5, "township")}
        assert "未导入任何代表" in r.json()["error"]["message"]

        # A GBK CSV as Excel saves it on Chinese Windows: both registered, as the clerk.
        content = gbk_csv([HEADER, *good])
        r = await upload(system, path, clerk, "名册.csv", content)
        assert r.status_code == 200, r.text
        first = r.json()
        assert (first["imported"], first["skipped"], first["errors"]) == (2, 0, [])
        assert "新登记 2 名" in first["message"]
        listed = await system.client.get(
            "/api/deputies", params={"township": t}, headers=after(clerk, r.headers["renda-position"])
        )
        rows = {d["deputy_id"]: d for d in listed.json()["items"]}
        assert set(rows) == set(first["ids"])
        zhang, li = (rows[i] for i in first["ids"])
        assert (zhang["name"], zhang["gender"], zhang["phone"]) == ("张三", "male", "13800000000")
        assert (li["level"], li["congress"], li["term"], li["by_election"]) == ("county", tree.county, 18, True)
        envelopes = await EventStore(nc).read(DEPUTY, first["ids"][0])
        assert (envelopes[0].actor.subject, envelopes[0].actor.role) == ("clerk-import", "township_staff")

        # The same file again registers nothing twice; so does a retry with the same Idempotency-Key.
        again = await upload(system, path, clerk, "名册.csv", content)
        assert again.status_code == 200 and (again.json()["imported"], again.json()["skipped"]) == (0, 2)
        assert again.json()["ids"] == first["ids"]
        key = {"Idempotency-Key": "import-" + t}
        # (each request draws a new multipart boundary: the same file is still the same request)
        once, twice = [await upload(system, path, clerk, "名册.csv", content, **key) for _ in range(2)]
        assert once.json() == twice.json() and twice.headers.get("idempotent-replayed") == "true"
        other = await upload(system, path, clerk, "名册.csv", gbk_csv([HEADER, good[0]]), **key)
        assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")

        # Who may: staff only; another township's staff get every row refused by row.
        for role, bound in (("deputy", {"deputy_id": first["ids"][0]}), ("organizer", {"unit_id": "u-x"})):
            r = await upload(system, path, system.auth(role, t, **bound), "名册.csv", content)
            assert r.status_code == 403, r.text
        r = await upload(system, path, system.auth("township_staff", tree.other), "名册.csv", content)
        assert r.status_code == 422 and problems(r) == {(2, "township"), (3, "township")}, r.text

        # An unreadable file is a report on row 1, not a 500.
        r = await upload(system, path, clerk, "名册.xlsx", b"PK\x03\x04broken")
        assert r.status_code == 422 and problems(r) == {(1, "file")}, r.text


async def test_jurisdictions_import_over_http(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    tree = await fresh_tree(nc)
    county, city = tree.county, tree.city
    rows = [
        ["code", "name", "kind", "parent"],
        [county + "011", "丁镇", "township", county],
        [county + "012", "戊街道", "street", county],
    ]
    content = ("\ufeff" + "\n".join(",".join(r) for r in rows)).encode("utf-8")  # UTF-8 with BOM
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        staff = system.auth("county_staff", county, subject="county-import")
        path = "/api/deputies/jurisdictions/import"

        # Only city and county staff; a township clerk is refused by role.
        r = await upload(system, path, system.auth("township_staff", tree.township), "区划.csv", content)
        assert r.status_code == 403, r.text

        # A row under the city (above the county) and one under an unknown parent: refused by row, as
        # unregistered alike (nothing says the city exists), and nothing of the file is stored.
        outside = [*rows, [city + "09", "己县", "county", city], [city + "08001", "庚镇", "township", city + "08"]]
        r = await upload(system, path, staff, "区划.xlsx", xlsx(outside))
        assert r.status_code == 422, r.text
        assert problems(r) == {(4, "parent"), (5, "parent")}
        other_city = "9999" if city != "9999" else "9998"
        city_staff = system.auth("city_staff", city)
        r = await upload(
            system, path, city_staff, "区划.csv", f"code,name,kind,parent\n{other_city},别市,city,".encode()
        )
        assert r.status_code == 422 and problems(r) == {(2, "code")}, r.text
        r = await system.client.get("/api/deputies/jurisdictions", params={"under": county}, headers=staff)
        assert {j["code"] for j in r.json()["items"]} == {county, tree.township, tree.other, tree.street}

        r = await upload(system, path, staff, "区划.csv", content)
        assert r.status_code == 200, r.text
        assert (r.json()["imported"], r.json()["skipped"], r.json()["errors"]) == (2, 0, [])
        listed = await system.client.get(
            "/api/deputies/jurisdictions",
            params={"under": county, "limit": 500},
            headers=after(staff, r.headers["renda-position"]),
        )
        kinds = {j["code"]: (j["name"], j["kind"], j["parent"]) for j in listed.json()["items"]}
        assert kinds[county + "011"] == ("丁镇", "township", county)
        assert kinds[county + "012"] == ("戊街道", "street", county)

        again = await upload(system, path, staff, "区划.csv", content)
        assert again.status_code == 200 and (again.json()["imported"], again.json()["skipped"]) == (0, 2)

        # The neighbouring county's staff may not load under this county: by row, nothing leaks.
        neighbour = system.auth("county_staff", city + "02")
        r = await upload(system, path, neighbour, "区划.csv", content)
        assert r.status_code == 422, r.text
        assert problems(r) == {(2, "parent"), (3, "parent")}
