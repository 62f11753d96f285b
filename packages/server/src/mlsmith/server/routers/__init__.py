"""The routers of the API, included by ``create_app`` in this order.

Each module defines ``router`` (an ``APIRouter``), mounted under ``/api/v1``; a module may also
define ``root_router``, mounted at the root (``/healthz``, ``/readyz``, ``/metrics``). Every route
declares its permission (``dependencies=[permission("...")]``) or the app refuses to start.
Append a module here with one line.
"""

API_PREFIX = "/api/v1"

ROUTER_MODULES = [
    "mlsmith.server.routers.ops",
    "mlsmith.server.routers.setup",
    "mlsmith.server.routers.auth",
    "mlsmith.server.routers.api_keys",
    "mlsmith.server.routers.workspaces",
    "mlsmith.server.routers.projects",
    "mlsmith.server.routers.admin",
    "mlsmith.server.routers.nlq",
    "mlsmith.server.routers.deployments",
    "mlsmith.server.routers.datasets",
    "mlsmith.server.routers.data_sources",
    "mlsmith.server.routers.runs",
    "mlsmith.server.routers.models",
    "mlsmith.server.routers.reports",
]
