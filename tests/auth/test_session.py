"""The dashboard's session: the token in an HttpOnly, SameSite=Strict cookie, and CSRF protection
(``X-CSRF-Token`` bound to the session) on every state-changing request made with it."""

from __future__ import annotations

import httpx

from libs.auth.tokens import signing_key
from libs.web.deps import csrf_token
from tests.auth.helpers import PASSWORD, fresh_city, new_user, register_tree
from tests.support.system import System


def _cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))


async def test_cookie_session_with_csrf(system: System, nc) -> None:
    settings = system.settings
    city = fresh_city()
    await register_tree(nc, [(city, "city", None)])
    name = await new_user(nc, "city_staff", city)
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as c:
        r = await c.post("/api/auth/session", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        session = _cookie_header(r, "renda_session").lower()
        assert "httponly" in session and "samesite=strict" in session and "path=/" in session
        csrf_cookie = _cookie_header(r, "renda_csrf").lower()
        assert "httponly" not in csrf_cookie and "samesite=strict" in csrf_cookie
        csrf = r.json()["csrf_token"]
        assert c.cookies.get("renda_csrf") == csrf
        assert r.json()["subject"] == name

        assert (await c.get("/api/auth/me")).json()["subject"] == name  # reads need no CSRF token

        body = {"code": f"{city}01", "name": "测试区", "kind": "county", "parent": city}
        r = await c.post("/api/deputies/jurisdictions", json=body)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "csrf_failed"
        r = await c.post("/api/deputies/jurisdictions", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
        assert r.status_code == 403
        r = await c.post("/api/deputies/jurisdictions", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text

        # The CSRF token is bound to its session: another session's token does not fit.
        key = signing_key(settings.jwt_secret, settings.data_dir)
        assert csrf == csrf_token(c.cookies.get("renda_session") or "", key)
        assert csrf_token(system.token("city_staff", city), key) != csrf

        r = await c.delete("/api/auth/session")
        assert r.status_code == 403  # logging out is state-changing too
        r = await c.delete("/api/auth/session", headers={"X-CSRF-Token": c.cookies.get("renda_csrf") or ""})
        assert r.status_code == 204
        assert "renda_session" not in c.cookies
        assert (await c.get("/api/auth/me")).status_code == 401


async def test_a_bearer_token_needs_no_csrf_token(system: System, nc) -> None:
    city = fresh_city()
    await register_tree(nc, [(city, "city", None)])
    r = await system.client.post(
        "/api/deputies/jurisdictions",
        headers=system.auth("city_staff", city),
        json={"code": f"{city}01", "name": "测试区", "kind": "county", "parent": city},
    )
    assert r.status_code == 201, r.text


async def test_a_failed_cookie_login_sets_no_cookie(system: System, nc) -> None:
    name = await new_user(nc, "county_staff", "340403")
    r = await system.client.post("/api/auth/session", json={"username": name, "password": "Wrong-pass-1"})
    assert r.status_code == 401
    assert not r.headers.get_list("set-cookie")
