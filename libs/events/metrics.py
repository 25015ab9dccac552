"""Prometheus metrics of the event store's readers: halts, failed batches, unauthenticated events.

(Registered in the process's default registry, so every service's ``/metrics`` shows them.)
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PROJECTION_HALTS = Counter(
    "renda_projection_halts_total",
    "Messages a projection could not decode or apply (it halted there)",
    ["projection", "stream"],
)
PROJECTION_HALTED = Gauge(
    "renda_projection_halted", "1 while the projection is halted on the stream", ["projection", "stream"]
)
PROJECTION_BATCH_FAILURES = Counter(
    "renda_projection_batch_failures_total",
    "Batches that failed for a passing reason (database or NATS unavailable), retried with back-off",
    ["consumer", "stream"],
)
EVENTS_UNAUTHENTICATED = Counter(
    "renda_events_unauthenticated_total",
    "Events whose chain head carries no valid signature of a known service key",
    ["stream", "reason"],
)
