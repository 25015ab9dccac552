"""The ``renda`` command line against a running ``renda up`` (one per module, its own data folder)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.up import RENDA, ROOT, Up, running_up, wait_until

SAMPLE = ROOT / "deploy" / "samples" / "jurisdictions-340400.csv"
SAMPLE_CODES = [line.split(",")[0] for line in SAMPLE.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
CONTRACT_KEYS = {
    "id",
    "type",
    "version",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "jurisdiction",
    "occurred_at",
    "actor",
    "correlation_id",
    "causation_id",
    "prev_hash",
    "hash",
    "data",
}
SHANGHAI = ZoneInfo("Asia/Shanghai")  # RENDA_TIMEZONE's default: how --as-of without offset is read


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    yield from running_up(tmp_path_factory.mktemp("cli") / "var")


@pytest.fixture(scope="module")
def sample_loaded(up: Up) -> subprocess.CompletedProcess[str]:
    r = up.run("jurisdictions", "load", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    return r


def test_jurisdictions_load_registers_the_sample_tree(up: Up, sample_loaded: subprocess.CompletedProcess[str]) -> None:
    assert f"新登记 {len(SAMPLE_CODES)} 个" in sample_loaded.stderr

    def all_listed() -> None:
        assert set(up.codes_under("340403")) >= set(SAMPLE_CODES[1:])

    wait_until(all_listed)
    again = up.run("jurisdictions", "load", str(SAMPLE))  # the same file again registers nothing twice
    assert again.returncode == 0, again.stderr
    assert f"新登记 0 个，已存在 {len(SAMPLE_CODES)} 个" in again.stderr


def test_a_csv_with_a_bad_row_names_row_and_field_and_loads_nothing(up: Up, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,parent\n3405,六安市测试,city,\n340520,测试县,county,3405\n34052x001,坏代码镇,township,340520\n",
        encoding="utf-8",
    )
    r = up.run("jurisdictions", "load", str(bad))
    assert r.returncode != 0
    assert "第 4 行" in r.stderr and "code" in r.stderr, r.stderr
    assert "未载入任何区划" in r.stderr
    assert "Traceback" not in r.stderr
    exported = up.run("events", "export")
    assert exported.returncode == 0, exported.stderr
    ids = {orjson.loads(line)["aggregate_id"] for line in exported.stdout.splitlines() if line.strip()}
    assert not ids & {"3405", "340520"}


def test_events_export_writes_contract_envelopes(up: Up, sample_loaded: object) -> None:
    r = up.run("events", "export")
    assert r.returncode == 0, r.stderr
    lines = [orjson.loads(line) for line in r.stdout.splitlines() if line.strip()]
    registered = [e for e in lines if e["type"] == "JurisdictionRegistered"]
    assert {e["aggregate_id"] for e in registered} >= set(SAMPLE_CODES)
    for e in lines:
        assert set(e) >= CONTRACT_KEYS, e  # the contract's fields; extensions (key_id, sig) allowed
        assert set(e["actor"]) == {"subject", "role"}
    future = (datetime.now(SHANGHAI) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    later = up.run("events", "export", "--since", future)
    assert later.returncode == 0 and later.stdout.strip() == ""


def test_audit_history_prints_the_events_of_one_aggregate(up: Up, sample_loaded: object) -> None:
    r = up.run("audit", "history", "340403")
    assert r.returncode == 0, r.stderr
    events = [orjson.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert [(e["type"], e["sequence"], e["aggregate_id"]) for e in events] == [("JurisdictionRegistered", 1, "340403")]
    assert events[0]["data"]["name"] == "田家庵区"
    missing = up.run("audit", "history", "no-such-aggregate")
    assert missing.returncode != 0 and "找不到记录" in missing.stderr


def test_audit_verify_passes_on_an_untouched_store(up: Up, sample_loaded: object) -> None:
    r = up.run("audit", "verify")
    assert r.returncode == 0, r.stderr
    assert "全部完好" in r.stderr


def test_replay_as_of_builds_a_copy_as_it_stood(up: Up, sample_loaded: object, tmp_path: Path) -> None:
    # --as-of has second resolution: take the next whole second and let the clock pass it.
    as_of = (datetime.now(SHANGHAI) + timedelta(seconds=1)).replace(microsecond=0)
    while datetime.now(SHANGHAI) <= as_of:
        time.sleep(0.05)
    r = httpx.post(
        up.base + "/api/deputies/jurisdictions",
        headers=up.headers("city_staff", "3404"),
        json={"code": "340406", "name": "潘集区", "kind": "county", "parent": "3404"},
        timeout=30,
    )
    assert r.status_code == 201, r.text

    copy = tmp_path / "copy.sqlite3"
    done = up.run(
        "replay",
        "deputies-jurisdictions",
        "--as-of",
        as_of.strftime("%Y-%m-%dT%H:%M:%S"),
        "--database-url",
        f"sqlite+aiosqlite:///{copy}",
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(copy) as db:
        codes = {row[0] for row in db.execute("SELECT code FROM deputies_jurisdictions")}
    assert codes >= set(SAMPLE_CODES)
    assert "340406" not in codes

    full = tmp_path / "full.sqlite3"
    done = up.run("replay", "deputies-jurisdictions", "--database-url", f"sqlite+aiosqlite:///{full}")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(full) as db:
        codes = {row[0] for row in db.execute("SELECT code FROM deputies_jurisdictions")}
    assert "340406" in codes


def _projection_rows(url: str, tables: list[str]) -> dict[str, int]:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg" if "postgresql" in url else "sqlite"))
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    finally:
        engine.dispose()


def test_replay_all_rebuilds_every_read_model_in_processes_side_by_side(
    up: Up, sample_loaded: object, postgres_url: str
) -> None:
    from libs.config.settings import Settings
    from renda.cli.replay import by_service

    done = up.run("replay", "--all", "--jobs", "2", "--database-url", postgres_url)
    assert done.returncode == 0, done.stderr
    assert "重放完成" in done.stderr
    # two processes: services writing PostgreSQL need not share one
    assert "│    2 │" in done.stderr, done.stderr

    projections = by_service(Settings(data_dir=up.data_dir))
    engine = create_engine(make_url(postgres_url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT projection, stream, position, halted_seq FROM projection_checkpoints"))
        stored = {(r.projection, r.stream): (r.position, r.halted_seq) for r in rows}
    engine.dispose()
    expected = {(p.name, f"RENDA_{c.upper()}") for ps in projections.values() for p in ps for c in p.contexts}
    assert set(stored) == expected
    assert all(halted is None for _, halted in stored.values())
    assert stored["deputies-jurisdictions", "RENDA_DEPUTIES"][0] > 0

    # every read model holds what the running service's own holds (its tables, row for row counted)
    for service, ps in projections.items():
        tables = [t.name for p in ps for t in p.metadata.sorted_tables]
        live = up.data_dir / "db" / f"{service}.sqlite3"

        def same(live: Path = live, tables: list[str] = tables) -> None:
            assert _projection_rows(f"sqlite:///{live}", tables) == _projection_rows(postgres_url, tables)

        wait_until(same, bound=30)
    counted = _projection_rows(postgres_url, ["deputies_jurisdictions"])
    assert counted["deputies_jurisdictions"] >= len(SAMPLE_CODES)


def test_replay_wants_one_read_model_or_all(up: Up) -> None:
    neither = up.run("replay")
    both = up.run("replay", "deputies-jurisdictions", "--all")
    for r in (neither, both):
        assert r.returncode != 0
        assert "二者只选其一" in r.stderr


# -- hardening: what an operator and a browser see of a running system (issue 12, points 5 and 8) --


def test_token_without_the_signing_key_is_refused_and_makes_no_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDA_")}
    env["RENDA_DATA_DIR"] = str(tmp_path / "elsewhere")
    r = subprocess.run(
        [RENDA, "token", "--role", "county_staff", "--jurisdiction", "340403"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert r.stdout == ""
    assert "签名密钥" in r.stderr
    assert not (tmp_path / "elsewhere" / "jwt.key").exists()


@pytest.mark.parametrize("jurisdiction", ["", "   ", "34x403", "3404031"])
def test_token_for_an_empty_or_malformed_jurisdiction_is_refused(up: Up, jurisdiction: str) -> None:
    r = up.run("token", "--role", "city_staff", "--jurisdiction", jurisdiction)
    assert r.returncode != 0
    assert r.stdout == ""
    assert "辖区代码无效" in r.stderr


def test_data_folder_and_read_models_are_private(up: Up, sample_loaded: object) -> None:
    assert up.data_dir.stat().st_mode & 0o777 == 0o700
    files = list((up.data_dir / "db").glob("*.sqlite3*"))
    assert files, "the services keep their read models under the data folder"
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}


def test_html_answers_carry_security_headers_and_docs_scripts_are_hashed(up: Up) -> None:
    r = httpx.get(up.base + "/api/suggestions/docs", timeout=30)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    import base64
    import hashlib
    import re

    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_a_gbk_body_gets_the_zh_cn_malformed_json_answer(up: Up, sample_loaded: object) -> None:
    body = '{"code": "340403999", "name": "测试镇", "kind": "township", "parent": "340403"}'.encode("gbk")
    r = httpx.post(
        up.base + "/api/deputies/jurisdictions",
        content=body,
        headers={**up.headers("county_staff", "340403"), "content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "malformed_json"
    assert "UTF-8" in error["message"]
