"""docs/access-matrix.md is generated from the apps' route tables and must not go stale."""

from __future__ import annotations

from pathlib import Path

from libs.config.settings import Settings
from renda.matrix import all_rules, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md"
COMMAND = "uv run python -m renda.matrix > docs/access-matrix.md"


def test_the_published_access_matrix_is_current() -> None:
    fresh = render_markdown(all_rules(Settings()))
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == fresh, f"docs/access-matrix.md is stale; regenerate it with: {COMMAND}"


def test_the_matrix_lists_every_api_route() -> None:
    text = render_markdown(all_rules(Settings()))
    for r in all_rules(Settings()):
        if r.kind != "framework":
            assert f"| {r.method} | `{r.path}` |" in text
