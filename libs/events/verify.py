"""``renda audit verify``: every hash chain, every writer's signature, against the recorded anchors.

One ordered pass over each context's stream keeps, per aggregate, only its last link (sequence,
hash and the newest signature), so memory grows with aggregates, not events:

- a chain break (sequence, ``prev_hash``, content vs ``hash``) names subject, sequence and stream
  sequence; a stream sequence below the head that cannot be read (deleted, or dropped by the
  server as corrupt) is reported as such;
- authentication: each aggregate's last event must carry a valid signature of a known key over
  its hash (its chain head); through ``prev_hash`` it vouches for every event before it, so one
  Ed25519 check per aggregate authenticates them all (docs/audit.md has the measurements). Every
  event carries a key id; one without a signature must be followed by the rest of its command;
- anchors (libs/events/anchors.py): at each anchored stream sequence the recomputed running hash
  and count must match the signed anchor; an anchor past the stream's end is a lost tail; an
  anchored aggregate head must be found with the same hash — or it is a lost aggregate or tail.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.anchors import ANCHOR_DOMAIN, AnchorSet, anchor_text, running_hash
from libs.events.envelope import GENESIS, chain_hash, hashed_part
from libs.events.keys import Keyring
from libs.events.projection.consumer import Delivered, read_stream
from libs.events.subjects import CONTEXTS, stream_name

Progress = Callable[[str, int, int], None]  # (stream, events read, stream head)


@dataclass
class AuditReport:
    events: int = 0
    aggregates: int = 0
    signatures: int = 0
    anchors: int = 0
    breaks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


@dataclass(slots=True)
class _Link:
    """An aggregate's last link: what the pass keeps per aggregate (memory grows with aggregates)."""

    sequence: int
    hash: str
    stream_seq: int
    key_id: str = ""
    sig: str = ""
    sig_sequence: int = 0
    open_causation: str = ""  # an unsigned event's command: the next event must belong to it
    open_where: str = ""


def _aggregate(subject: str) -> str:
    return subject.rsplit(".", 1)[-1]


def _at(d: Delivered, body: dict[str, Any]) -> str:
    """Where an event lies, for a report: subject, sequence, stream sequence, aggregate."""
    return f"{d.subject} #{body.get('sequence')} (stream seq {d.seq}, aggregate {body.get('aggregate_id')})"


async def verify_all(
    nc: NATS,
    contexts: tuple[str, ...] = CONTEXTS,
    *,
    keyring: Keyring | None = None,
    anchors: AnchorSet | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Verify every context's stream; ``keyring`` None skips authentication (chains only)."""
    report = AuditReport()
    for context in contexts:
        await _verify_stream(nc, context, report, keyring, anchors, progress)
    return report


async def _verify_stream(
    nc: NATS,
    context: str,
    report: AuditReport,
    keyring: Keyring | None,
    anchor_set: AnchorSet | None,
    progress: Progress | None,
) -> None:
    stream = stream_name(context)
    breaks = report.breaks
    state = (await jsapi.stream_info(nc, stream))["state"]
    head = int(state["last_seq"])
    expected = int(state["first_seq"]) or 1
    anchors = sorted((a for a in (anchor_set.anchors if anchor_set else []) if a["stream"] == stream), key=_seq)
    prefix = f"renda.{context}."
    heads = {h["subject"]: h for h in (anchor_set.heads if anchor_set else []) if h["subject"].startswith(prefix)}
    ai = 0
    running, count = "", 0
    last: dict[str, _Link] = {}
    read = 0

    def check_anchor(a: dict[str, Any]) -> None:
        report.anchors += 1
        where = f"{stream} anchor at stream seq {a['seq']} ({a['recorded_at']})"
        if keyring is not None:
            why = keyring.check(
                a["key_id"], anchor_text(stream, int(a["seq"]), int(a["count"]), a["running"]), a["sig"], ANCHOR_DOMAIN
            )
            if why is not None:
                breaks.append(f"{where}: the anchor itself is not authentic ({why})")
        if count != int(a["count"]) or running != a["running"]:
            breaks.append(
                f"{where}: {count} events read up to it where {a['count']} were anchored, running hash "
                f"{running[:12]}… where {str(a['running'])[:12]}… expected: events up to this anchor were "
                "removed, inserted or changed since it was recorded"
            )

    async for batch in read_stream(nc, context):
        for d in batch:
            while ai < len(anchors) and int(anchors[ai]["seq"]) < d.seq:
                check_anchor(anchors[ai])
                ai += 1
            if expected < d.seq and expected <= head:
                breaks.append(f"{stream} stream seq {expected}..{min(d.seq - 1, head)}: deleted or unreadable")
            expected = max(expected, d.seq + 1)
            report.events += 1
            read += 1
            try:
                body = orjson.loads(d.data)
                unhashed = hashed_part(body)
                link = last.get(d.subject)
                seq, prev = (link.sequence, link.hash) if link else (0, GENESIS)
                sequence = body.get("sequence")
                if sequence != seq + 1:
                    breaks.append(f"{_at(d, body)}: sequence should be {seq + 1} (reordered, deleted or duplicated)")
                if body.get("prev_hash") != prev:
                    breaks.append(f"{_at(d, body)}: prev_hash does not match the previous event")
                own = str(body.get("hash", ""))
                if chain_hash(unhashed) != own:
                    breaks.append(f"{_at(d, body)}: content does not match its hash")
                if link is None:
                    link = last[d.subject] = _Link(0, "", 0)
                link.sequence = int(sequence) if isinstance(sequence, int) else seq + 1
                link.hash, link.stream_seq = own, d.seq
                if keyring is not None:
                    _authorship(link, body, d, breaks)
                anchored = heads.get(d.subject)
                if anchored is not None and int(anchored["sequence"]) == link.sequence and anchored["hash"] != own:
                    breaks.append(
                        f"{_at(d, body)}: hash {own[:12]}… where the anchored head has {anchored['hash'][:12]}…"
                    )
            except (orjson.JSONDecodeError, TypeError, AttributeError, ValueError):
                breaks.append(f"{d.subject} (stream seq {d.seq}): not a readable envelope")
                body = None
            running = running_hash(running, str(body.get("hash", "")) if isinstance(body, dict) else _raw(d.data))
            count += 1
            if ai < len(anchors) and int(anchors[ai]["seq"]) == d.seq:
                check_anchor(anchors[ai])
                ai += 1
        if progress is not None:
            progress(stream, read, head)
    if head and expected <= head:
        breaks.append(f"{stream} stream seq {expected}..{head}: deleted or unreadable")
    for a in anchors[ai:]:
        report.anchors += 1
        breaks.append(
            f"{stream}: lost tail — an anchor recorded stream seq {a['seq']} ({a['count']} events, "
            f"{a['recorded_at']}), the stream now ends at seq {head} with {count} events"
        )
    for subject, h in heads.items():
        link = last.get(subject)
        if link is None:
            breaks.append(
                f"{subject}: lost aggregate {h['aggregate_type']} {h['aggregate_id']} — anchored with events "
                f"#1..#{h['sequence']} (last at stream seq {h['stream_seq']}, hash {h['hash'][:12]}…), none found"
            )
        elif link.sequence < int(h["sequence"]):
            breaks.append(
                f"{subject}: lost tail of aggregate {h['aggregate_id']} — ends at #{link.sequence} "
                f"(stream seq {link.stream_seq}), anchored up to #{h['sequence']} at stream seq {h['stream_seq']}"
            )
    report.aggregates += len(last)
    if keyring is not None:
        for subject, link in last.items():
            report.signatures += 1
            where = f"{subject} #{link.sequence} (stream seq {link.stream_seq}, aggregate {_aggregate(subject)})"
            if link.sig_sequence != link.sequence:
                if link.open_causation:  # else already reported as written without a key
                    breaks.append(f"{where}: not signed by a service key (an event no service wrote)")
                continue
            why = keyring.check(link.key_id, link.hash, link.sig)
            if why is not None:
                breaks.append(f"{where}: {why} (an event no service wrote)")


def _authorship(link: _Link, body: dict[str, Any], d: Delivered, breaks: list[str]) -> None:
    """Every event is a service's: signed, or an unsigned first part of a command whose last event is signed.

    An unsigned event (``key_id`` but no ``sig``) must be followed by the rest of its command (the
    same causation id, hashed); otherwise a genuine append after a forged event would vouch for it.
    """
    causation = str(body.get("causation_id", ""))
    if link.open_causation and causation != link.open_causation:
        breaks.append(
            f"{link.open_where}: not signed, and the next event is not of its command (an event no service wrote)"
        )
    link.open_causation = link.open_where = ""
    key_id = body.get("key_id")
    if not key_id:
        breaks.append(f"{_at(d, body)}: written without a service key (an event no service wrote)")
    elif body.get("sig"):
        link.key_id, link.sig, link.sig_sequence = sys.intern(str(key_id)), str(body["sig"]), link.sequence
    else:
        link.open_causation, link.open_where = causation or "?", _at(d, body)


def _seq(a: dict[str, Any]) -> int:
    return int(a["seq"])


def _raw(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
