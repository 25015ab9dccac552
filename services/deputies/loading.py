"""Loading a jurisdiction tree from CSV (``renda jurisdictions load``): validate all, then register.

Nothing is registered unless every row is valid. Each row's command id derives from the
file's content and the code, so running the same file again (after a crash, say) registers
only what is missing and never twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NATS

from libs.domain.errors import AlreadyExists
from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from services.deputies import commands
from services.deputies.domain.jurisdiction import JURISDICTION
from services.deputies.domain.jurisdiction_csv import CsvProblem, parse_jurisdiction_csv

LOAD_NS = uuid.UUID("b8d3c1e4-7a2f-4c55-8e0b-1f2a3b4c5d6e")


@dataclass
class LoadReport:
    registered: int = 0
    existing: int = 0
    problems: list[CsvProblem] = field(default_factory=list)


async def load_jurisdictions_file(path: Path, store: EventStore, nc: NATS | None = None) -> LoadReport:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    referenced = {r.get("parent", "").strip() for r in csv.DictReader(io.StringIO(text))} - {""}
    known = set()
    for code in referenced:
        if code.isdigit() and len(code) in (4, 6):
            if (await store.load(JURISDICTION, code, jurisdiction=code)).state.registered:
                known.add(code)
    parsed = parse_jurisdiction_csv(text, known=known)
    report = LoadReport(problems=list(parsed.problems))
    if report.problems:
        return report
    digest = hashlib.sha256(raw).hexdigest()
    for row in parsed.rows:
        meta = CommandMeta(
            actor=Actor(subject="operator:cli", role="operator"),
            correlation_id=f"jurisdictions-load:{digest[:16]}",
            command_id=str(uuid.uuid5(LOAD_NS, f"{digest}/{row.code}")),
            now=datetime.now(UTC),
        )
        c = commands.RegisterJurisdiction(code=row.code, name=row.name, kind=row.kind, parent=row.parent)
        try:
            done = await commands.register_jurisdiction(c, store, None, meta)
        except AlreadyExists:
            report.existing += 1
            continue
        report.registered += 1 if done.envelopes else 0
        report.existing += 0 if done.envelopes else 1
    return report
