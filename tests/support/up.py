"""``renda up`` as a user runs it: a subprocess with its own data folder and ports, for tests that
need the whole system from outside (the CLI, the fuzzer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from libs.runtime.nats_server import free_port

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")


@dataclass
class Up:
    env: dict[str, str]
    base: str
    data_dir: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RENDA, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=180)

    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def headers(self, role: str, jurisdiction: str) -> dict[str, str]:
        if (role, jurisdiction) not in self.tokens:
            r = self.run("token", "--role", role, "--jurisdiction", jurisdiction)
            assert r.returncode == 0, r.stderr
            self.tokens[role, jurisdiction] = r.stdout.strip()
        return {"Authorization": "Bearer " + self.tokens[role, jurisdiction]}

    def codes_under(self, under: str) -> list[str]:
        r = httpx.get(
            self.base + "/api/deputies/jurisdictions",
            params={"under": under, "limit": 500},
            headers=self.headers("city_staff", under[:4]),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return [j["code"] for j in r.json()["items"]]


def wait_until(check, bound: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check`` (raising AssertionError until it holds); ``bound`` only ends a hung run."""
    deadline = time.monotonic() + bound
    while True:
        try:
            check()
            return
        except (AssertionError, httpx.HTTPError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def running_up(data_dir: Path, **extra_env: str) -> Iterator[Up]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDA_")}
    env.update(RENDA_DATA_DIR=str(data_dir), RENDA_EMBEDDED_NATS_PORT=str(free_port()), RENDA_LOG_LEVEL="WARNING")
    env.update(extra_env)
    port = free_port()
    proc = subprocess.Popen(
        [RENDA, "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> None:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert httpx.get(base + "/readyz", timeout=2).status_code == 200

    try:
        wait_until(ready)
        yield Up(env, base, data_dir)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
