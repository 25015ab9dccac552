"""The writers' keys: one Ed25519 key per service, named by a key id carried in every envelope.

A service's private key comes from ``RENDA_SIGNING_KEY_<SERVICE>`` (the 32-byte seed, base64) or
from ``<data dir>/keys/<service>.key`` (PEM, generated once, mode 0600). Beside each key the
public half is kept as ``<service>-<key_id>.pub``, and it stays there when the key is replaced:
rotating a key is putting a new one in place (or deleting the file: a new one is made), and
events signed with the old one still verify. ``renda audit keys --export`` writes every public
key for an auditor, who verifies without the services or their secrets.

The key id is the first 16 hex digits of SHA-256 over the raw public key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ENV_PREFIX = "RENDA_SIGNING_KEY_"
DOMAIN = b"renda-chain-head-v1:"  # what is signed: this prefix and the event's hash (hex)
REFRESH = 5.0  # seconds between two reads of the key folder for an unknown key id
_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(_RAW, _RAW_PUB)).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def env_name(service: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", service).upper()


@dataclass(frozen=True)
class Signer:
    service: str
    key_id: str
    private: Ed25519PrivateKey = field(repr=False)

    def sign(self, text: str, domain: bytes = DOMAIN) -> str:
        """The signature of ``text`` (an event's hash, or an anchor's text) under ``domain``."""
        return _b64(self.private.sign(domain + text.encode()))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @classmethod
    def of(cls, service: str, private: Ed25519PrivateKey) -> Signer:
        return cls(service, key_id_of(private.public_key()), private)


def _pub_path(keys: Path, service: str, key_id: str) -> Path:
    return keys / f"{service}-{key_id}.pub"


def _write_public(keys: Path, signer: Signer) -> None:
    path = _pub_path(keys, signer.service, signer.key_id)
    if not path.exists():
        path.write_bytes(
            signer.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )


def load_signer(service: str, data_dir: Path, env: Mapping[str, str] | None = None) -> Signer:
    """The service's key from the environment, else from the data folder (made once, mode 0600)."""
    env = os.environ if env is None else env
    seed = env.get(env_name(service))
    if seed:
        return Signer.of(service, Ed25519PrivateKey.from_private_bytes(_unb64(seed.strip())))
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = keys / f"{service}.key"
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    signer = Signer.of(service, private)
    _write_public(keys, signer)
    return signer


def new_seed() -> str:
    """A fresh private key as the environment variable's value."""
    return _b64(
        Ed25519PrivateKey.generate().private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    )


@dataclass
class Keyring:
    """Public keys by key id, with the service each belongs to."""

    keys: dict[str, tuple[str, Ed25519PublicKey]] = field(default_factory=dict)
    # Where ``gather`` found them: read again (at most every REFRESH seconds) when an unknown key
    # id turns up, so a key made after this process started (a new operator's) is known.
    sources: tuple[Path | None, tuple[Path, ...]] | None = None
    _refreshed: float = 0.0

    def add(self, service: str, public: Ed25519PublicKey) -> str:
        kid = key_id_of(public)
        self.keys[kid] = (service, public)
        return kid

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def service_of(self, key_id: str) -> str | None:
        got = self.keys.get(key_id)
        return got[0] if got else None

    def check(self, key_id: str, text: str, sig: str, domain: bytes = DOMAIN) -> str | None:
        """None when ``sig`` is ``key_id``'s signature of ``text`` (an event's hash); else why not."""
        if not sig:
            return "not signed"
        got = self.keys.get(key_id)
        if got is None and self._refresh():
            got = self.keys.get(key_id)
        if got is None:
            return f"signed with an unknown key {key_id or '(none)'}"
        try:
            got[1].verify(_unb64(sig), domain + text.encode())
        except (InvalidSignature, ValueError):
            return f"signature does not verify with key {key_id} ({got[0]})"
        return None

    def _refresh(self) -> bool:
        now = time.monotonic()
        if self.sources is None or now - self._refreshed < REFRESH:
            return False
        self._refreshed = now
        again = Keyring.gather(self.sources[0], files=self.sources[1])
        self.keys.update(again.keys)
        return True

    def export(self) -> dict[str, Any]:
        return {
            "format": "renda-keys-v1",
            "keys": [
                {"key_id": kid, "service": svc, "ed25519": _b64(pub.public_bytes(_RAW, _RAW_PUB))}
                for kid, (svc, pub) in sorted(self.keys.items())
            ],
        }

    def add_exported(self, data: bytes) -> None:
        for k in orjson.loads(data)["keys"]:
            kid = self.add(k["service"], Ed25519PublicKey.from_public_bytes(_unb64(k["ed25519"])))
            if kid != k["key_id"]:
                raise ValueError(f"key {k['key_id']}: its public key has id {kid}")

    def add_signer(self, signer: Signer) -> None:
        self.add(signer.service, signer.public)

    @classmethod
    def gather(
        cls, data_dir: Path | None, env: Mapping[str, str] | None = None, files: tuple[Path, ...] = ()
    ) -> Keyring:
        """Every public key this installation knows: the data folder's keys, the environment's, exported files."""
        ring = cls()
        env = os.environ if env is None else env
        for name, value in env.items():
            if name.startswith(ENV_PREFIX) and value.strip():
                service = name.removeprefix(ENV_PREFIX).lower()
                ring.add_signer(Signer.of(service, Ed25519PrivateKey.from_private_bytes(_unb64(value.strip()))))
        keys = data_dir / "keys" if data_dir is not None else None
        if keys is not None and keys.is_dir():
            for pub in sorted(keys.glob("*.pub")):
                public = serialization.load_pem_public_key(pub.read_bytes())
                if isinstance(public, Ed25519PublicKey):
                    ring.add(pub.stem.rsplit("-", 1)[0], public)
            for key in sorted(keys.glob("*.key")):
                private = serialization.load_pem_private_key(key.read_bytes(), password=None)
                if isinstance(private, Ed25519PrivateKey):
                    ring.add(key.stem, private.public_key())
            trusted = keys / "trusted.json"
            if trusted.exists():
                ring.add_exported(trusted.read_bytes())
        for f in files:
            ring.add_exported(f.read_bytes())
        ring.sources = (data_dir, files)
        ring._refreshed = time.monotonic()
        return ring
