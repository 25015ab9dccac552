"""Cluster tests: ``-m cluster`` runs the ones on the local production topology alone."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: runs on the local production topology (3 NATS nodes, PostgreSQL, services as processes)"
    )
