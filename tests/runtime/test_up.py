"""``renda up`` as a user runs it: a real process, its own data folder and ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from libs.runtime.nats_server import free_port, port_free

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")
CTRL_C_EXIT = (0, 130)  # uvicorn re-raises SIGINT after its graceful shutdown: 128 + 2
STARTUP = 90.0  # an upper bound for waiting, never asserted on


def renda_env(data_dir: Path, nats_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDA_")}
    env.update(RENDA_DATA_DIR=str(data_dir), RENDA_EMBEDDED_NATS_PORT=str(nats_port), RENDA_LOG_LEVEL="WARNING")
    return env


def renda(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RENDA, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def wait_ready(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + STARTUP
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"renda up exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("renda up did not become ready")
        time.sleep(0.1)


@contextmanager
def renda_up(env: dict[str, str], port: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [RENDA, "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, base)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop_with_ctrl_c(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)  # a bound for the test run, not a measured figure
    return err


def token(env: dict[str, str], role: str, jurisdiction: str) -> dict[str, str]:
    r = renda(env, "token", "--role", role, "--jurisdiction", jurisdiction)
    assert r.returncode == 0, r.stderr
    return {"Authorization": "Bearer " + r.stdout.strip()}


def listed(base: str, headers: dict[str, str], under: str) -> list[str]:
    r = httpx.get(base + "/api/deputies/jurisdictions", params={"under": under, "limit": 500}, headers=headers)
    assert r.status_code == 200, r.text
    return [j["code"] for j in r.json()["items"]]


def test_up_serves_stops_on_ctrl_c_and_keeps_its_data(tmp_path: Path) -> None:
    nats_port, http_port = free_port(), free_port()
    env = renda_env(tmp_path / "var", nats_port)
    with renda_up(env, http_port) as (proc, base):
        assert httpx.get(base + "/healthz").json()["status"] == "ok"
        home = httpx.get(base + "/")  # the dashboard: without a session, to the login page
        assert (home.status_code, home.headers["location"]) == (303, "/login?next=/")
        assert "登录" in httpx.get(base + "/login").text
        assert httpx.get(base + "/api/deputies/docs").status_code == 200
        assert "renda_" in httpx.get(base + "/metrics").text or httpx.get(base + "/metrics").status_code == 200
        staff = token(env, "city_staff", "34")
        r = httpx.post(
            base + "/api/deputies/jurisdictions", json={"code": "3404", "name": "淮南市", "kind": "city"}, headers=staff
        )
        assert r.status_code == 201, r.text
        position = r.headers["renda-position"]
        city = token(env, "city_staff", "3404")
        r = httpx.post(
            base + "/api/deputies/jurisdictions",
            headers={**city},
            json={"code": "340403", "name": "田家庵区", "kind": "county", "parent": "3404"},
        )
        assert r.status_code == 201, r.text
        position = r.headers["renda-position"]
        r = httpx.get(
            base + "/api/deputies/jurisdictions", params={"under": "3404"}, headers={**city, "Renda-After": position}
        )
        assert "340403" in [j["code"] for j in r.json()["items"]]

        err = stop_with_ctrl_c(proc)
        assert proc.returncode in CTRL_C_EXIT, err
        assert "Traceback" not in err
        assert "renda 已停止" in err
    assert port_free(http_port) and port_free(nats_port)  # NATS went down with it
    assert (tmp_path / "var" / "nats" / "jetstream").is_dir()

    with renda_up(env, http_port) as (proc, base):
        assert "340403" in listed(base, city, "3404")  # the data survived the restart
        err = stop_with_ctrl_c(proc)
        assert proc.returncode in CTRL_C_EXIT, err


def test_a_busy_http_port_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        r = subprocess.run(
            [RENDA, "up", "--port", str(busy)],
            cwd=ROOT,
            env=renda_env(tmp_path / "var", free_port()),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode != 0
    assert f"端口 127.0.0.1:{busy} 已被占用" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_busy_nats_port_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        r = subprocess.run(
            [RENDA, "up", "--port", str(free_port())],
            cwd=ROOT,
            env=renda_env(tmp_path / "var", busy),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode != 0
    assert f"端口 {busy} 已被其他程序占用" in r.stderr
    assert "RENDA_EMBEDDED_NATS_PORT" in r.stderr
    assert "Traceback" not in r.stderr
