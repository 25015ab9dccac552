"""The notify service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERIES = Counter(
    "renda_notify_deliveries_total",
    "Notification deliveries by outcome (sent, failed, retried, dropped: no address on file)",
    ["channel", "outcome"],
)
BACKLOG = Gauge("renda_notify_outbox", "Outbox rows not sent, by state (pending, failed)", ["state"])
