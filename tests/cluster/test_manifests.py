"""The deployment files, checked by their tools' own validators where they run here.

- compose: ``docker compose config`` (the client alone, no engine), else ``docker-compose config``
  (v1); where neither exists (a machine without the compose plugin), the compose file's YAML
  structure is validated against COMPOSE_SCHEMA below, a schema written for this test (a subset of
  the compose specification: the keys this file uses, with their types). The structural checks
  that follow (health checks, restart policies, secrets from the environment) run in every case.
- Kubernetes: kubernetes-validate (strict) on every resource the kustomization lists.
- NATS: ``nats-server -t`` (from the wheel) on the compose and Kubernetes node configs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from libs.runtime.cluster import USERS, accounts_conf, make_tls
from libs.runtime.nats_server import binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SECRETS = {f"RENDA_NATS_PASSWORD_{u.upper()}": f"pw-{u}" for u in (*USERS, "sys")} | {
    f"RENDA_SIGNING_KEY_{s.upper()}": f"seed-{s}" for s in ("deputies", "suggestions", "meetings", "notify")
} | {"RENDA_DB_PASSWORD": "db-secret", "RENDA_JWT_SECRET": "jwt-secret"}  # fmt: skip
SERVICES = ("deputies", "suggestions", "meetings", "notify", "supervision", "workbench")

_str_list = {"type": "array", "items": {"type": "string"}}
_healthcheck = {
    "type": "object",
    "properties": {
        "test": {"oneOf": [{"type": "string"}, _str_list]},
        "interval": {"type": "string"}, "timeout": {"type": "string"}, "retries": {"type": "integer"},
        "start_period": {"type": "string"}, "disable": {"type": "boolean"},
    },
    "additionalProperties": False,
}  # fmt: skip
_depends = {
    "oneOf": [
        _str_list,
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "condition": {"enum": ["service_started", "service_healthy", "service_completed_successfully"]}
                },
                "required": ["condition"],
                "additionalProperties": False,
            },
        },
    ]
}
COMPOSE_SCHEMA = {
    "type": "object",
    "required": ["services"],
    "patternProperties": {"^x-": {}},
    "properties": {
        "services": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "image": {"type": "string"},
                    "build": {"type": "object", "properties": {"context": {"type": "string"},
                              "dockerfile": {"type": "string"}}, "additionalProperties": False},
                    "command": _str_list, "hostname": {"type": "string"},
                    "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
                    "environment": {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]}},
                    "volumes": _str_list, "ports": _str_list, "depends_on": _depends, "healthcheck": _healthcheck,
                    "stop_grace_period": {"type": "string"},
                    "deploy": {"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}},
                               "additionalProperties": False},
                },
                "additionalProperties": False,
            },
        },
        "volumes": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
    "additionalProperties": False,
}  # fmt: skip


def _compose_tool() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    v1 = shutil.which("docker-compose")
    return [v1] if v1 else None


def test_compose_file_is_valid_and_every_service_is_watched_and_restarted() -> None:
    path = DEPLOY / "compose.yaml"
    tool = _compose_tool()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDA_")} | SECRETS
    if tool is not None:
        ok = subprocess.run([*tool, "-f", str(path), "config", "-q"], env=env, capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        missing = subprocess.run(
            [*tool, "-f", str(path), "config", "-q"],
            env={k: v for k, v in env.items() if k != "RENDA_JWT_SECRET"}, capture_output=True, text=True,
        )  # fmt: skip
        assert missing.returncode != 0  # a missing secret stops compose (${VAR:?})
    compose = yaml.safe_load(path.read_text())
    jsonschema.validate(compose, COMPOSE_SCHEMA)  # the fallback's check, run everywhere

    services = compose["services"]
    assert {"nats-1", "nats-2", "nats-3", "postgres", "init", "ingress", *SERVICES} <= set(services)
    for name, s in services.items():
        if name == "init":
            assert s["restart"] == "no" and s["command"] == ["init"]
            assert {d: c["condition"] for d, c in s["depends_on"].items()} == {
                "nats-1": "service_healthy", "nats-2": "service_healthy", "nats-3": "service_healthy",
                "postgres": "service_healthy",
            }  # fmt: skip
            continue
        assert s["restart"] == "unless-stopped", name
        assert s["healthcheck"]["test"], name
    for name in SERVICES:
        s = services[name]
        assert s["command"][:2] == ["serve", name]
        assert "/readyz" in " ".join(s["healthcheck"]["test"])
        assert s["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
        assert s["environment"]["RENDA_NATS_URL"].count(f"tls://{name}:") == 3  # its own user, every node
    assert services["suggestions"]["deploy"]["replicas"] == 2 and services["notify"]["deploy"]["replicas"] == 2
    text = path.read_text()
    for secret in SECRETS:  # each secret comes from the environment, none is written in the file
        assert f"${{{secret}" in text, secret
    assert not re.search(r"PASSWORD_[A-Z]+: (?!\$\{)", text)
    caddy = (DEPLOY / "caddy" / "Caddyfile").read_text()
    for prefix, target in [*((f"/api/{s}", s) for s in SERVICES if s != "supervision"), ("/api/auth", "deputies")]:
        assert re.search(rf"handle {re.escape(prefix)}\* \{{\s+import service {target}\s", caddy), prefix
    assert re.search(r"handle \{\s+import service supervision", caddy)


def _kustomized() -> list[Path]:
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for gen in k.get("configMapGenerator", []):
        for f in gen["files"]:
            assert (K8S / f).is_file(), f
    return [K8S / r for r in k["resources"]]


def test_kubernetes_manifests_pass_strict_schema_validation() -> None:
    files = _kustomized()
    tool = Path(binary()).parent / "kubernetes-validate"
    r = subprocess.run(
        [str(tool), "--strict", "-k", "1.33.0", *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "passed" in r.stdout + r.stderr
    docs = [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("StatefulSet", "nats") in kinds and ("Job", "renda-init") in kinds
    for name in SERVICES:
        assert {("Deployment", name), ("Service", name), ("PodDisruptionBudget", name)} <= kinds, name
    for d in docs:
        if d["kind"] != "Deployment":
            continue
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
        assert d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert (K8S / "nats" / "accounts.conf").read_text() == accounts_conf()


@pytest.mark.parametrize(
    ("conf", "tls_names"),
    [
        (DEPLOY / "nats" / "cluster.conf", ("server.pem", "server-key.pem", "ca.pem")),
        (K8S / "nats" / "nats.conf", ("tls.crt", "tls.key", "ca.crt")),
    ],
)
def test_nats_node_configs_are_accepted_by_nats_server(tmp_path: Path, conf: Path, tls_names: tuple[str, ...]) -> None:
    tls = make_tls(tmp_path / "tls")
    for made, name in zip((tls.cert, tls.key, tls.ca), tls_names, strict=True):
        shutil.copy(made, tmp_path / name)
    text = conf.read_text()
    text = re.sub(r'"/etc/nats/tls/', f'"{tmp_path}/', text)
    text = text.replace("/var/lib/nats", str(tmp_path / "data")).replace("/data/jetstream", str(tmp_path / "js"))
    text = text.replace("/var/run/nats", str(tmp_path))
    (tmp_path / "node.conf").write_text(text)
    shutil.copy(conf.parent / "accounts.conf", tmp_path / "accounts.conf")
    env = {"PATH": os.environ.get("PATH", ""), "SERVER_NAME": "n1"} | SECRETS
    r = subprocess.run([binary(), "-t", "-c", str(tmp_path / "node.conf")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "is valid" in r.stdout + r.stderr


def test_dockerfile_builds_from_the_lock_file_as_a_non_root_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{PYTHON\}$", text, re.M) and "slim" in text
    assert "uv sync --locked --no-dev" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    assert "COPY pyproject.toml uv.lock" in text


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "deputies", "restart"), "sometimes"),
        (("services", "deputies", "helthcheck"), {"test": ["CMD", "true"]}),
        (("services", "init", "depends_on", "postgres", "condition"), "service_ready"),
        (("services", "suggestions", "deploy", "replicas"), 0),
    ],
)
def test_the_fallback_schema_refuses_a_broken_compose_file(path: tuple[str, ...], value: object) -> None:
    """Where no compose tool exists the schema is the only check: it must catch typos and bad values."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    jsonschema.validate(compose, COMPOSE_SCHEMA)
    node = compose
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(compose, COMPOSE_SCHEMA)
