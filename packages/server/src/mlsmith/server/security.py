"""Deny by default: every route declares the permission it needs, and the app refuses to start
when one does not.

    @router.get("/runs/{run_id}", dependencies=[permission("runs:read")])
    @router.post("/setup/bootstrap", dependencies=[permission("public")])

A permission other than ``"public"`` requires an authenticated principal (401 otherwise). Two rules
are enforced here because they are declarative and the same for every route:

- an API key created with scopes may only call routes whose permission one of its scopes grants
  (``"runs:read"``, ``"runs:*"`` or ``"*"``);
- ``admin:*`` permissions need a platform admin (``User.is_admin``).

Everything that depends on *which object* is asked for (workspace membership, role) is decided in
the core services (``scope_in`` / ``scope_for_object``), never here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from mlsmith.core.errors import ConfigError, PermissionDenied
from mlsmith.server.deps import get_principal

PUBLIC = "public"
_ATTR = "__mlsmith_permission__"
_NAME = re.compile(r"^(public|[a-z][a-z0-9_-]*:[a-z*][a-z0-9_*-]*)$")


def permission(name: str) -> Any:
    """A route dependency that marks (and enforces) the permission ``name``."""
    if not _NAME.match(name):
        raise ValueError(f"permission {name!r} must be 'public' or '<resource>:<action>'")

    if name == PUBLIC:

        def check_public() -> None:
            return None

        check = check_public
    else:

        def check_permission(principal: Any = Depends(get_principal)) -> None:  # noqa: B008
            _authorize(principal, name)

        check = check_permission
    setattr(check, _ATTR, name)
    return Depends(check)


def _authorize(principal: Any, name: str) -> None:
    if name.startswith("admin:") and not principal.user.is_admin:
        raise PermissionDenied("this needs a platform administrator", permission=name)
    key = getattr(principal, "api_key", None)
    scopes = list(getattr(key, "scopes", None) or [])
    if scopes and not any(grants(s, name) for s in scopes):
        raise PermissionDenied("the API key's scopes do not allow this", permission=name)


def grants(scope: str, name: str) -> bool:
    if scope in ("*", name):
        return True
    resource, _, action = scope.partition(":")
    return action == "*" and name.split(":", 1)[0] == resource


def permission_of(route: RouteContext | APIRoute) -> str | None:
    """The permission a route declares, on itself or on a router it was included through."""
    for dep in getattr(route, "dependencies", None) or ():
        name = getattr(dep.dependency, _ATTR, None)
        if name is not None:
            return name
    return None


def routes(app: FastAPI) -> list[RouteContext]:
    """Every route as served (included routers flattened, prefixes and router dependencies
    applied)."""
    return list(iter_route_contexts(app.routes))


def check_routes(app: FastAPI) -> None:
    """Raise ConfigError naming every route that declares no permission (or is of a kind we do
    not know how to check). Only FastAPI's own documentation routes are exempt."""
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    exempt = {p for p in docs if p}
    missing: list[str] = []
    for route in routes(app):
        if isinstance(route.original_route, APIRoute):
            if permission_of(route) is None:
                missing.append(f"{','.join(sorted(route.methods or ()))} {route.path}")
        elif route.path not in exempt:
            missing.append(f"{type(route.original_route).__name__} {route.path!r}")
    if missing:
        raise ConfigError(
            "refusing to start: routes without a declared permission: " + "; ".join(missing),
            routes=missing,
        )
