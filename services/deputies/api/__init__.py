"""HTTP routes of the deputies context, one module per aggregate: parse, authorise, call, answer.

``ROUTERS`` in mounting order: fixed paths before ``/api/deputies/{deputy_id}`` (last).
"""

from fastapi import APIRouter

from services.deputies.api import auth, deputies, duty, groups, imports, presidium, stations

ROUTERS: list[APIRouter] = [
    deputies.router,
    auth.router,
    groups.router,
    presidium.router,
    stations.router,
    duty.router,
    imports.router,
    deputies.record_router,
]
