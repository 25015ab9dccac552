"""The workbench: each role's work queue and forms at ``/work/`` (zh-CN), on a PC and a phone.

It records nothing itself and keeps one read model (the deputies' reference facts). Its pages read
the contexts' JSON APIs with the caller's own session (server side, so a page reads without
JavaScript), and its forms send the same
commands as the API from the browser (``static/forms.js``), with the CSRF token and one
``Idempotency-Key`` per rendered form.
"""

from __future__ import annotations

from fastapi import FastAPI

from libs.config.settings import Settings
from libs.events.projection import Projection
from libs.reference.deputies import reference_projection
from libs.service.app import ServiceDefinition, create_app
from services.workbench.web import bodies, deputy, meetings, opinions, pages, preferences, staff, suggestion, unit

# Its one read model: the deputies' facts, so a deputy can pick fellow deputies as co-signers (the
# deputies API shows a deputy only their own record).
reference, reference_tables = reference_projection("workbench")


def projections(_settings: Settings) -> list[Projection]:
    return [reference]


DEFINITION = ServiceDefinition(
    name="workbench",
    title="renda 工作台（人大主席团、承办单位、代表）",
    routers=[
        pages.router,
        staff.router,
        unit.router,
        deputy.router,
        suggestion.router,
        meetings.router,
        bodies.router,
        opinions.router,
        preferences.router,
    ],
    projections=projections,
    extra_prefixes=("/work",),
)


def create(settings: Settings) -> FastAPI:
    app = create_app(DEFINITION, settings)
    app.state.reference = reference_tables
    return app
