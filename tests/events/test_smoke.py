"""The walking skeleton end to end: POST a jurisdiction → JetStream → projection → GET."""

from __future__ import annotations

from libs.runtime.nats_server import EmbeddedNats
from tests.support.system import running_system
from tests.support.waiting import eventually


async def test_registered_jurisdiction_is_listed(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        city = system.auth("city_staff", "3404")
        created = await system.client.post(
            "/api/deputies/jurisdictions",
            json={"code": "3404", "name": "淮南市", "kind": "city"},
            headers=system.auth("city_staff", "34"),
        )
        assert created.status_code in (201, 409), created.text
        r = await system.client.post(
            "/api/deputies/jurisdictions",
            json={"code": "340499", "name": "测试区", "kind": "county", "parent": "3404"},
            headers=city,
        )
        assert r.status_code in (201, 409), r.text
        position = r.headers.get("renda-position", "")

        async def listed() -> None:
            got = await system.client.get(
                "/api/deputies/jurisdictions", params={"under": "3404"}, headers={**city, "Renda-After": position}
            )
            assert got.status_code == 200
            assert "340499" in [j["code"] for j in got.json()["items"]]

        await eventually(listed)
