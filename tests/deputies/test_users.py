"""Accounts: ``renda users add`` names only what exists (jurisdiction, deputy, unit) and keeps
e-mail and phone; passwords never travel in the directory's events (the credential store keeps
the hash, old events' hashes are hidden by upcasters and moved on first login); login and
lockout keep working."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import typer
from typer.testing import CliRunner

from libs.events import jetstream as jsapi
from libs.events.envelope import GENESIS, canonical, chain_hash
from libs.events.store import EventStore
from libs.events.subjects import aggregate_subject, any_jurisdiction_subject, stream_name
from libs.runtime.nats_server import EmbeddedNats
from services.deputies.cli import register as register_verbs
from services.deputies.commands.context import operator
from services.deputies.commands.credentials import Credentials
from services.deputies.commands.directory import AddUser, ChangePassword, add_user, change_password
from services.deputies.domain.directory import USER
from services.suggestions.domain.unit import ORGANIZER_UNIT
from services.suggestions.events import OrganizerUnitRegistered
from tests.deputies.places import deputy_body, fresh_tree, operator_meta, register
from tests.support.system import running_system

PASSWORD = "Renda-2026-ok"


def name(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def stored_bodies(nc: Any, username: str) -> list[dict[str, Any]]:
    """The account's events exactly as stored (what ``renda events export`` prints)."""
    out, seq = [], 1
    subject = any_jurisdiction_subject("deputies", "user", username)
    while (m := await jsapi.direct_get_next(nc, stream_name("deputies"), subject, seq)) is not None:
        out.append(orjson.loads(m.data))
        seq = m.seq + 1
    return out


async def token(system: Any, username: str, password: str) -> int:
    r = await system.client.post("/api/auth/token", json={"username": username, "password": password})
    return r.status_code  # type: ignore[no-any-return]


async def test_no_password_hash_travels_in_the_events_and_login_keeps_working(
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    tree = await fresh_tree(nc)
    store = EventStore(nc)
    user = name("clerk")
    await add_user(
        AddUser(user, PASSWORD, "township_staff", tree.township, email="clerk@example.cn", phone="13800000002"),
        operator(store),
    )
    bodies = await stored_bodies(nc, user)
    assert [b["type"] for b in bodies] == ["UserCreated", "RoleGranted"]
    assert "password_hash" not in bodies[0]["data"] and b"$argon2" not in orjson.dumps(bodies)
    assert bodies[0]["data"]["password_set"] is True and bodies[0]["data"]["email"] == "clerk@example.cn"
    assert (await Credentials(nc).stored(user) or "").startswith("$argon2")
    state = (await store.load(USER, user)).state
    assert (state.email, state.phone) == ("clerk@example.cn", "13800000002")

    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}")
    async with running_system(settings) as system:
        assert await token(system, user, PASSWORD) == 200
        session = await system.client.post("/api/auth/session", json={"username": user, "password": PASSWORD})
        assert session.status_code == 200 and session.json()["subject"] == user

        # a new password: the event says only that it changed; the old one stops working
        await change_password(ChangePassword(user, "Another-2026-pw"), operator(store))
        changed = (await stored_bodies(nc, user))[-1]
        assert changed["type"] == "PasswordChanged" and changed["data"] == {"username": user}
        assert await token(system, user, PASSWORD) == 401
        assert await token(system, user, "Another-2026-pw") == 200

        # the lockout still guards it: five failures, then even the right password waits
        for _ in range(5):
            assert await token(system, user, "wrong-Password-1") == 401
        assert await token(system, user, "Another-2026-pw") == 429


async def test_a_hash_in_an_old_event_is_hidden_when_decoded_and_moved_on_first_login(
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    from libs.auth.passwords import hash_password

    tree = await fresh_tree(nc)
    user = name("old")
    old_hash = await asyncio.to_thread(hash_password, PASSWORD)
    subject = aggregate_subject("deputies", tree.township, "user", user)
    prev = GENESIS
    v1 = [
        ("UserCreated", {"username": user, "password_hash": old_hash, "display_name": "老账号"}),
        (
            "RoleGranted",
            {
                "username": user,
                "role": "township_staff",
                "jurisdiction": tree.township,
                "deputy_id": None,
                "unit_id": None,
            },
        ),
    ]
    for seq, (kind, data) in enumerate(v1, start=1):  # as version 1 wrote them, hash included
        body = {
            "id": str(uuid.uuid4()),
            "type": kind,
            "version": 1,
            "aggregate_type": "user",
            "aggregate_id": user,
            "sequence": seq,
            "jurisdiction": tree.township,
            "occurred_at": datetime.now(UTC).isoformat(),
            "actor": {"subject": "operator:cli", "role": "operator"},
            "correlation_id": "v1",
            "causation_id": "v1-" + user,
            "prev_hash": prev,
            "data": data,
        }
        body["hash"] = prev = chain_hash(body)
        await jsapi.publish(nc, subject, canonical(body), {"Nats-Msg-Id": body["id"]})

    [created, _granted] = await EventStore(nc).read(USER, user)
    assert created.version == 1 and created.data.password_set is True  # stored as v1, decoded as the current class
    assert "password_hash" not in created.data.model_dump() and not hasattr(created.data, "password_hash")
    assert await Credentials(nc).stored(user) is None

    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    async with running_system(settings) as system:
        assert await token(system, user, "Not-the-2026-pw") == 401
        assert await token(system, user, PASSWORD) == 200
    assert await Credentials(nc).stored(user) == old_hash  # moved to the credential store


async def test_users_add_names_only_what_exists_and_keeps_email_and_phone(
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    tree = await fresh_tree(nc)
    far = await fresh_tree(nc)
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    async with running_system(settings) as system:
        deputy_id, _ = await register(
            system, system.auth("township_staff", tree.township), deputy_body(tree.township, "甲")
        )
        foreign_deputy, _ = await register(
            system, system.auth("township_staff", far.township), deputy_body(far.township, "乙")
        )
    unit_id = str(uuid.uuid4())
    loaded = await EventStore(nc).load(ORGANIZER_UNIT, unit_id, jurisdiction=tree.county)
    unit = OrganizerUnitRegistered(
        unit_id=unit_id,
        jurisdiction=tree.county,
        name="县交通局",
        kind="county_department",
        registered_at=datetime.now(UTC),
    )
    await EventStore(nc).append(loaded, [unit], operator_meta(), jurisdiction=tree.county)

    root = typer.Typer()
    register_verbs(root)
    env = {"RENDA_NATS_URL": nats_server.url, "RENDA_DATA_DIR": str(tmp_path / "cli")}

    async def renda(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, root, list(args), env=env)
        return result.exit_code, result.output.replace("\n", "") if result.exit_code else result.output

    def add(username: str, role: str, jurisdiction: str, *more: str) -> list[str]:
        return [
            "users",
            "add",
            "--username",
            username,
            "--password",
            PASSWORD,
            "--role",
            role,
            "--jurisdiction",
            jurisdiction,
            *more,
        ]

    refused = [
        (add(name(), "township_staff", "999999999"), "jurisdiction"),
        (add(name(), "deputy", tree.township, "--deputy-id", str(uuid.uuid4())), "deputy_id"),
        (add(name(), "deputy", tree.township, "--deputy-id", foreign_deputy), "deputy_id"),
        (add(name(), "organizer", tree.county, "--unit-id", str(uuid.uuid4())), "unit_id"),
        (add(name(), "organizer", far.county, "--unit-id", unit_id), "unit_id"),
        (add(name(), "township_staff", tree.township, "--email", "not-an-address"), "email"),
    ]
    for args, field in refused:
        code, out = await renda(*args)
        assert code == 1 and f"字段 {field}" in out and "Traceback" not in out, (args, out)
        assert await stored_bodies(nc, args[3]) == []  # nothing recorded

    accepted = [
        add(name(), "deputy", tree.township, "--deputy-id", deputy_id),
        add(name(), "organizer", tree.county, "--unit-id", unit_id),
        add(name(), "county_staff", tree.county, "--email", "staff@example.cn", "--phone", "13900000003"),
    ]
    for args in accepted:
        code, out = await renda(*args)
        assert code == 0, out
    state = (await EventStore(nc).load(USER, accepted[2][3])).state
    assert (state.email, state.phone, state.role) == ("staff@example.cn", "13900000003", "county_staff")
    code, out = await renda("users", "list")
    listed = {r["username"]: r for r in map(orjson.loads, out.splitlines()) if r.get("username")}
    assert listed[accepted[2][3]]["email"] == "staff@example.cn"

    # the clerks' verbs report a bad file in zh-CN, no traceback
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for verb in (["jurisdictions", "load"], ["deputies", "import"]):
        code, out = await renda(*verb, str(empty))
        assert code == 1 and "文件为空" in out and "Traceback" not in out, out
