"""Prometheus metrics shared by every service of a process (labels say which)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("renda_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "renda_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter("renda_events_appended_total", "Events appended", ["context", "type"])
PROJECTION_APPLIED = Counter("renda_projection_events_total", "Events read by a projection", ["projection", "stream"])
PROJECTION_LAG = Gauge("renda_projection_lag", "Stream head minus checkpoint", ["projection", "stream"])
