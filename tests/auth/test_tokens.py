"""Access tokens: issued by login, refused when expired, tampered, signed with another key, or
belonging to a disabled user (in every service); the actor of each event is the token's holder."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from libs.auth.actor import Principal
from libs.auth.tokens import InvalidToken, issue, signing_key, verify
from libs.events.store import EventStore
from renda.matrix import all_rules
from services.deputies.domain.jurisdiction import JURISDICTION
from tests.auth.helpers import PASSWORD, disable, fresh_city, new_user, register_tree, regrant
from tests.support.system import System
from tests.support.waiting import eventually

KEY = "k" * 48
P = Principal(subject="alice", role="county_staff", jurisdiction="340403")


def _tamper(token: str, **claims: object) -> str:
    head, body, sig = token.split(".")
    data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")
    return f"{head}.{forged}.{sig}"


def test_a_fresh_token_carries_role_jurisdiction_and_binding() -> None:
    t = issue(Principal("d1", "deputy", "340403001", deputy_id="D-1"), KEY, timedelta(minutes=5))
    principal, claims = verify(t, KEY)
    assert principal == Principal("d1", "deputy", "340403001", deputy_id="D-1")
    assert claims["exp"] > claims["iat"]


def test_an_expired_token_is_refused() -> None:
    t = issue(P, KEY, timedelta(minutes=5), now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken):
        verify(t, KEY)


def test_a_tampered_token_is_refused() -> None:
    t = issue(P, KEY, timedelta(minutes=5))
    with pytest.raises(InvalidToken):
        verify(_tamper(t, jur="34"), KEY)  # widening one's own jurisdiction breaks the signature


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify(issue(P, "another-key-" + "x" * 40, timedelta(minutes=5)), KEY)


def test_an_unsigned_token_is_refused() -> None:
    import jwt

    t = jwt.encode(
        {"iss": "renda", "sub": "x", "role": "city_staff", "jur": "34", "exp": 9999999999}, None, algorithm="none"
    )
    with pytest.raises(InvalidToken):
        verify(t, KEY)


def test_the_generated_signing_key_is_private_to_its_owner(tmp_path) -> None:
    key = signing_key("", tmp_path)
    assert signing_key("", tmp_path) == key
    assert (tmp_path / "jwt.key").stat().st_mode & 0o777 == 0o600


async def test_bad_tokens_are_answered_401_over_http(system: System) -> None:
    settings = system.settings
    good = system.token("county_staff", "340403")
    key = signing_key(settings.jwt_secret, settings.data_dir)
    expired = issue(P, key, timedelta(minutes=5), now=datetime.now(UTC) - timedelta(hours=1))
    for bad in (expired, _tamper(good, jur="34"), issue(P, "wrong-" + "x" * 40, timedelta(minutes=5)), "garbage"):
        r = await system.client.get("/api/auth/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"
    r = await system.client.get("/api/auth/me")
    assert r.status_code == 401


async def test_login_returns_a_token_that_says_who_it_belongs_to(system: System, nc) -> None:
    name = await new_user(nc, "deputy", "340403001", deputy_id="D-42")
    r = await system.client.post("/api/auth/token", json={"username": name.upper(), "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    me = await system.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {
        "subject": name,
        "role": "deputy",
        "jurisdiction": "340403001",
        "deputy_id": "D-42",
        "unit_id": None,
    }
    r = await system.client.post("/api/auth/token", json={"username": name})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "password"


async def test_a_disabled_users_tokens_stop_working_in_every_service(system: System, nc) -> None:
    settings = system.settings
    name = await new_user(nc, "city_staff", "3404")
    # Every authenticated GET route without path parameters, of every available service (pages
    # answer a missing session with the way to /login: tests/supervision and tests/workbench).
    probes = [
        r
        for r in all_rules(settings)
        if r.method == "GET"
        and r.kind != "page"
        and r.roles
        and not r.public
        and "{" not in r.path
        and r.reachable
        and r.allows("city_staff")
    ]
    assert probes
    r = await system.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for probe in probes:  # accepted (some answer 422 for a missing filter: past the token check)
        assert (await system.client.get(probe.path, headers=headers)).status_code in (200, 422), probe
    await disable(nc, name)

    async def refused_everywhere() -> None:
        for probe in probes:
            got = await system.client.get(probe.path, headers=headers)
            assert got.status_code == 401, (probe, got.text)
            assert got.json()["error"]["code"] == "account_disabled"

    await eventually(refused_everywhere)
    r = await system.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "account_disabled"


async def test_a_new_role_grant_retires_older_tokens(system: System, nc) -> None:
    settings = system.settings
    name = await new_user(nc, "county_staff", "340403")
    key = signing_key(settings.jwt_secret, settings.data_dir)
    old = issue(
        Principal(name, "county_staff", "340403"), key, timedelta(hours=1), now=datetime.now(UTC) - timedelta(minutes=1)
    )
    headers = {"Authorization": f"Bearer {old}"}
    assert (await system.client.get("/api/auth/me", headers=headers)).status_code == 200
    await regrant(nc, name, "township_staff", "340403001")

    async def superseded() -> None:
        got = await system.client.get("/api/auth/me", headers=headers)
        assert got.status_code == 401
        assert got.json()["error"]["code"] == "token_superseded"

    await eventually(superseded)
    r = await system.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    me = await system.client.get("/api/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["role"] == "township_staff"


async def test_every_event_names_the_acting_user_and_role(system: System, nc) -> None:
    city = fresh_city()
    await register_tree(nc, [(city, "city", None)])
    name = await new_user(nc, "city_staff", city)
    r = await system.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    code = f"{city}01"
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        headers=headers,
        json={"code": code, "name": "测试区", "kind": "county", "parent": city},
    )
    assert r.status_code == 201, r.text
    [env] = await EventStore(nc).read(JURISDICTION, code, code)
    assert (env.actor.subject, env.actor.role) == (name, "city_staff")
