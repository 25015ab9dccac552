"""The contract's error shape over real HTTP: 400/401/403/404/422, idempotency keys, never a 500."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NATS

from libs.config.settings import Settings
from libs.events.audit import history
from libs.runtime.nats_server import EmbeddedNats
from tests.support.places import fresh
from tests.support.system import System, running_system

ERROR_KEYS = {"code", "message", "details"}
_county = itertools.count(10)


@pytest.fixture(scope="module")
async def system(nats_server: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    # The session NATS needs its streams; the ``nc`` fixture is function scoped, so create them here.
    import nats

    from libs.events.streams import ensure_streams

    conn = await nats.connect(nats_server.url)
    await ensure_streams(conn, 1, create_missing=True)
    await conn.drain()
    folder: Path = tmp_path_factory.mktemp("errors")
    settings = Settings(
        nats_url=nats_server.url,
        database_url=f"sqlite+aiosqlite:///{folder / 'read.sqlite3'}",
        data_dir=folder / "data",
        jwt_secret="errors-" + uuid.uuid4().hex,
    )
    async with running_system(settings) as s:
        yield s


@pytest.fixture(scope="module")
async def city(system: System) -> str:
    code = fresh(lambda: f"99{random.randrange(100):02d}")
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        json={"code": code, "name": "测试市", "kind": "city"},
        headers=system.auth("city_staff", "99"),
    )
    assert r.status_code == 201, r.text
    return code


def county(city: str) -> str:
    return f"{city}{next(_county):02d}"


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    assert "Traceback" not in r.text
    return body["error"]


async def test_malformed_json_is_400(system: System, city: str) -> None:
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        content=b'{"code": "99',
        headers={**system.auth("city_staff", city), "content-type": "application/json"},
    )
    assert_error(r, 400, "malformed_json")


async def test_a_missing_field_is_422_naming_it(system: System, city: str) -> None:
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        json={"code": county(city), "kind": "county", "parent": city},
        headers=system.auth("city_staff", city),
    )
    err = assert_error(r, 422, "invalid_input")
    assert err["details"]["field"] == "name"  # the contract's name for the program
    assert err["message"] == "必填项「名称」未填写。"  # the form's name for the clerk


async def test_an_invalid_value_is_422_naming_the_field(system: System, city: str) -> None:
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        json={"code": county(city), "name": "区", "kind": "province", "parent": city},
        headers=system.auth("city_staff", city),
    )
    err = assert_error(r, 422)
    assert err["details"]["field"] == "kind"
    assert err["message"].startswith("「类型」的取值无效"), err


async def test_an_unnamed_body_is_not_taken_for_a_field_called_body(system: System) -> None:
    r = await system.client.post("/api/deputies/jurisdictions", headers=system.auth("city_staff", "34"))
    err = assert_error(r, 422)
    assert err["message"] == "必填项「请求内容」未填写。", err


@pytest.mark.parametrize("path", ["/api/deputies/no-such-thing", "/api/nowhere", "/no/such/page"])
async def test_an_unknown_route_is_a_json_404(system: System, path: str) -> None:
    r = await system.client.get(path, headers=system.auth("city_staff", "34"))
    assert_error(r, 404, "not_found")


async def test_no_token_is_401_and_a_bad_token_too(system: System, city: str) -> None:
    body = {"code": county(city), "name": "区", "kind": "county", "parent": city}
    r = await system.client.post("/api/deputies/jurisdictions", json=body)
    assert_error(r, 401, "unauthenticated")
    r = await system.client.get("/api/deputies/jurisdictions", headers={"Authorization": "Bearer not.a.token"})
    assert_error(r, 401, "unauthenticated")


async def test_the_wrong_role_is_403(system: System, city: str) -> None:
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        json={"code": county(city), "name": "区", "kind": "county", "parent": city},
        headers=system.auth("township_staff", f"{city}01001"),
    )
    assert_error(r, 403, "forbidden")


async def test_the_same_idempotency_key_and_body_answers_the_same_and_records_once(
    system: System, city: str, nc: NATS
) -> None:
    code = county(city)
    body = {"code": code, "name": "幂等区", "kind": "county", "parent": city}
    headers = {**system.auth("city_staff", city), "Idempotency-Key": uuid.uuid4().hex}
    first = await system.client.post("/api/deputies/jurisdictions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    # An immediate retry: the answer must already be recorded when the client has received it.
    again = await system.client.post("/api/deputies/jurisdictions", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers.get("renda-position") == first.headers.get("renda-position")
    assert [e["type"] for e in await history(nc, code)] == ["JurisdictionRegistered"]

    other = await system.client.post(
        "/api/deputies/jurisdictions", json={**body, "name": "另一个名字"}, headers=headers
    )
    err = assert_error(other, 422, "idempotency_key_reused")
    assert err["details"]["field"] == "Idempotency-Key"
    # Without a key, the same body is a new command: the domain refuses the duplicate (409).
    dup = await system.client.post("/api/deputies/jurisdictions", json=body, headers=system.auth("city_staff", city))
    assert_error(dup, 409)
    assert len(await history(nc, code)) == 1


ODD_BODIES: list[object] = [
    [],
    [1, 2, 3],
    "just a string",
    None,
    {"code": 12345, "name": ["x"], "kind": None},
    {"code": "9" * 10_000, "name": "x" * 100_000, "kind": "county"},
    {"code": "abcdef", "name": "区", "kind": "county", "parent": "ab"},
    {"code": "990099", "name": "区", "kind": "county", "parent": "99"},
    {"code": "990099", "name": "   ", "kind": "county", "parent": "9900"},
    {"code": "990099", "name": "区", "kind": "county", "parent": "9900", "extra": True},
]


@pytest.mark.parametrize("body", ODD_BODIES, ids=range(len(ODD_BODIES)))
async def test_odd_input_never_gives_a_500(system: System, city: str, body: object) -> None:
    r = await system.client.post("/api/deputies/jurisdictions", json=body, headers=system.auth("city_staff", "99"))
    assert r.status_code < 500, r.text
    assert 400 <= r.status_code, r.text
    assert_error(r, r.status_code)


@pytest.mark.parametrize(
    ("params", "raw"),
    [
        ({"under": "xyz"}, None),
        ({"limit": "-1"}, None),
        ({"limit": "100000"}, None),
        ({"cursor": "%%%not-a-cursor"}, None),
        ({}, b"\xff\xfe garbage"),
    ],
)
async def test_odd_queries_never_give_a_500(system: System, params: dict, raw: bytes | None) -> None:
    r = await system.client.request(
        "GET", "/api/deputies/jurisdictions", params=params, content=raw, headers=system.auth("city_staff", "99")
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert_error(r, r.status_code)
