"""Matrix cases of the clerks' files over HTTP (deputies service): deputies and jurisdiction imports.

No seed: each probe uploads a small file of its own. Inside, the rows lie in the caller's
jurisdiction (200); outside, in a foreign one, and the rows are refused by row (422): the caller
named the place, as with a create, but a file answers with its report, never a bare 403.
"""

from __future__ import annotations

from tests.auth.matrix_core import Case, Probe, Where, World

D = "/api/deputies"
DEPUTY_HEADER = "姓名,性别,层级,所属人大,编组乡镇,选区,届次"


def _deputies_file(w: World, role: str, where: Where) -> Probe:
    place = w.township if where == "inside" else w.foreign_township(role)
    row = f"代表{w.next()},女,乡镇,{place},{place},第一选区,18"
    content = f"{DEPUTY_HEADER}\n{row}\n".encode()
    return Probe("POST", f"{D}/import", files={"file": ("名册.csv", content, "text/csv")})


def _tree_file(w: World, role: str, where: Where) -> Probe:
    parent = w.county if where == "inside" else w.foreign_township(role)[:6]
    row = f"{parent}{w.next() + 500:03d},镇{w.next()},township,{parent}"
    content = f"code,name,kind,parent\n{row}\n".encode()
    return Probe("POST", f"{D}/jurisdictions/import", files={"file": ("区划.csv", content, "text/csv")})


CASES: dict[tuple[str, str], Case] = {
    ("POST", f"{D}/import"): Case(_deputies_file, 200, "create", 422),
    ("POST", f"{D}/jurisdictions/import"): Case(_tree_file, 200, "create", 422),
}
