"""A secured JetStream cluster: who may do what (one definition), node configs, and local nodes.

The permissions here are rendered into ``deploy/nats/accounts.conf`` (passwords from the servers'
environment) and into the configs of the loopback cluster ``deploy/local_cluster.py`` starts for
the tests and an operator's trial; a test keeps the committed file equal to what this renders.

- a context's service (``deputies``, ``suggestions``, ``meetings``, ``notify``) publishes only
  its own events ``renda.<context>.>`` and its snapshots ``renda.snapshots.<context>.>``;
- every user reads through the JetStream API (stream info, direct get, pull consumers and their
  acks); no user but the operator's ``renda`` may create, update, delete or purge a stream;
- ``supervision``, ``workbench`` (services of no context) and ``auditor`` publish nothing into
  any stream (read-only);
- ``renda`` (the operator: ``renda init``, ``seed``, ``jurisdictions load``) has the whole API.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from libs.config.settings import SERVICES
from libs.events.subjects import CONTEXTS, SNAPSHOT_PREFIX
from libs.runtime.nats_server import NatsStartError, _die_with_parent, binary, free_port

ACCOUNT = "RENDA"
# The services of no context (supervision, workbench) and the auditors publish into no stream.
READ_ONLY_USERS = (*(s for s in SERVICES if s not in CONTEXTS), "auditor")
ADMIN_USER = "renda"
USERS = (*CONTEXTS, *READ_ONLY_USERS, ADMIN_USER)

# What every user needs to read: stream info, Direct Get (aggregate loads), pull consumers.
READ_API = (
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.CREATE.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.>",
    "$JS.API.CONSUMER.INFO.>",
    "$JS.API.CONSUMER.DELETE.>",
    "$JS.API.CONSUMER.MSG.NEXT.>",
    "$JS.ACK.>",
)


def user_of(service: str) -> str:
    """The NATS user a service connects as: its own (every service is in USERS)."""
    if service not in USERS:
        raise ValueError(f"no NATS user for service {service}")
    return service


def publish_allowed(user: str) -> list[str]:
    if user == ADMIN_USER:
        return ["renda.>", "$JS.API.>", "$JS.ACK.>"]
    if user in CONTEXTS:
        return [f"renda.{user}.>", f"{SNAPSHOT_PREFIX}.{user}.>", *READ_API]
    if user in READ_ONLY_USERS:
        return list(READ_API)
    raise ValueError(f"no such NATS user: {user}")


def env_password(user: str) -> str:
    """The server reads each password from its environment (NATS config ``$VAR``)."""
    return f"$RENDA_NATS_PASSWORD_{user.upper()}"


def accounts_conf(password: Callable[[str], str] = env_password) -> str:
    """The ``accounts`` block: one account for renda's streams, a system account for operators."""
    lines = ["# written by libs/runtime/cluster.py (accounts_conf); edit there, not here", "accounts {"]
    lines += [f"  {ACCOUNT} {{", "    jetstream: enabled", "    users: ["]
    for user in USERS:
        allow = ", ".join(json.dumps(s) for s in publish_allowed(user))
        lines += [
            f"      {{user: {json.dumps(user)}, password: {password(user)}, permissions: {{",
            f"        publish: {{allow: [{allow}]}}",
            '        subscribe: {allow: ["_INBOX.>"]}',
            "      }}",
        ]
    lines += ["    ]", "  }", "  SYS {", f"    users: [{{user: sys, password: {password('sys')}}}]", "  }", "}"]
    lines.append("system_account: SYS")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Tls:
    """PEM files: the CA that signed every node's and client's certificate, and this node's pair."""

    ca: Path
    cert: Path
    key: Path

    def block(self, *, verify: bool) -> str:
        return (
            f'tls {{ cert_file: "{self.cert}", key_file: "{self.key}", ca_file: "{self.ca}", '
            f"verify: {'true' if verify else 'false'}, timeout: 5 }}"
        )


def make_tls(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Tls:
    """A private CA and one certificate for ``hosts`` (tests and the local trial; ``trustme`` is a dev package)."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="renda local cluster")
    cert = ca.issue_cert(*hosts)
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "server-key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    return Tls(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server-key.pem")


@dataclass
class Node:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def node_conf(node: Node, peers: list[Node], accounts: str, tls: Tls | None) -> str:
    routes = "\n".join(f"    nats-route://127.0.0.1:{p.cluster_port}" for p in peers if p is not node)
    return f"""# renda local cluster node {node.name} (libs/runtime/cluster.py)
server_name: {node.name}
listen: 127.0.0.1:{node.client_port}
http: 127.0.0.1:{node.monitor_port}
max_payload: 8MB
{tls.block(verify=False) if tls else ""}
jetstream {{
  store_dir: "{node.store}"
  sync_interval: always
  max_file_store: 10GB
  max_memory_store: 256MB
}}
cluster {{
  name: renda
  listen: 127.0.0.1:{node.cluster_port}
  no_advertise: true
  {tls.block(verify=True) if tls else ""}
  routes: [
{routes}
  ]
}}
{accounts}
"""


@dataclass
class NatsCluster:
    """Three (or ``size``) nats-server processes from the wheel, clustered on loopback."""

    folder: Path
    passwords: dict[str, str]
    size: int = 3
    tls: Tls | None = None
    nodes: list[Node] = field(default_factory=list)

    def url(self, user: str) -> str:
        scheme = "tls" if self.tls else "nats"
        pw = self.passwords[user]
        return ",".join(f"{scheme}://{user}:{pw}@127.0.0.1:{n.client_port}" for n in self.nodes)

    def start(self, timeout: float = 30.0) -> NatsCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.nodes:
            self.nodes = [
                Node(f"n{i + 1}", free_port(), free_port(), free_port(), self.folder / f"n{i + 1}" / "jetstream")
                for i in range(self.size)
            ]
        accounts = accounts_conf(lambda u: json.dumps(self.passwords[u]))
        for node in self.nodes:
            (self.folder / node.name).mkdir(parents=True, exist_ok=True)
            conf = self.folder / node.name / "nats-server.conf"
            conf.write_text(node_conf(node, self.nodes, accounts, self.tls))
            conf.chmod(0o600)
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self.wait_healthy(node, timeout)
        return self

    def _spawn(self, node: Node) -> None:
        with open(self.folder / node.name / "nats-server.log", "ab") as log:  # the child keeps its copy
            node.process = subprocess.Popen(
                [binary(), "-c", str(self.folder / node.name / "nats-server.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def wait_healthy(self, node: Node, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process is None or node.process.poll() is not None:
                raise NatsStartError(f"nats-server {node.name} exited; see {self.folder / node.name}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{node.monitor_port}/healthz?js-enabled-only=true"
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            time.sleep(0.1)
        raise NatsStartError(f"nats-server {node.name} not healthy within {timeout:.0f}s")

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL: no flush, no goodbye (a power cut for this node's process)."""
        node = self.node(name)
        assert node.process is not None
        node.process.kill()
        node.process.wait()

    def pause(self, name: str) -> None:
        node = self.node(name)
        assert node.process is not None
        node.process.send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        node = self.node(name)
        assert node.process is not None
        node.process.send_signal(signal.SIGCONT)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        node = self.node(name)
        if node.alive:
            self.kill(name)
        self._spawn(node)
        self.wait_healthy(node, timeout)

    def stop(self) -> None:
        for node in self.nodes:
            p = node.process
            if p is None or p.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGCONT)  # a paused node must run to hear SIGTERM
                p.terminate()
        for node in self.nodes:
            p = node.process
            if p is None:
                continue
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            node.process = None

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def passwords_for(users: tuple[str, ...] = (*USERS, "sys")) -> dict[str, str]:
    import secrets

    return {u: secrets.token_urlsafe(18) for u in users}


@contextlib.contextmanager
def local_cluster(folder: Path, *, tls: bool = True, size: int = 3) -> Iterator[NatsCluster]:
    cluster = NatsCluster(folder, passwords_for(), size=size, tls=make_tls(folder / "tls") if tls else None)
    with cluster:
        yield cluster
