"""Dependencies shared by every router: the app's Backends, the caller, a page of a listing.

Credentials are read from the ``Authorization`` header only, never from query strings (they would
end up in access logs, browser history and proxies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPBearer

from mlsmith.core.backends import Backends
from mlsmith.core.errors import BackendUnavailable, InvalidInput, Unauthenticated
from mlsmith.core.services.principals import Principal, authenticate
from mlsmith.core.settings import Settings

# Documents the bearer scheme in the OpenAPI (the "Authorize" button of /docs); the header itself
# is read below, so an API key and a JWT take the same path into ``principals.authenticate``.
_bearer = HTTPBearer(auto_error=False, description="An access token or an API key")


def get_backends(request: Request) -> Backends:
    backends = getattr(request.app.state, "backends", None)
    if backends is None:
        raise BackendUnavailable("the server is starting or stopping")
    return backends


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


BackendsDep = Annotated[Backends, Depends(get_backends)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_optional_principal(
    request: Request,
    backends: BackendsDep,
    _doc: Annotated[object, Depends(_bearer)] = None,
) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    principal = authenticate(backends, header)
    request.state.user_id = principal.user.id  # for the access log
    return principal


def get_principal(
    principal: Annotated[Principal | None, Depends(get_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token or key>'")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="page size (at most the server's max)")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Page:
    if limit > settings.max_page_size:
        raise InvalidInput(
            f"limit must be at most {settings.max_page_size}",
            field="limit",
            max=settings.max_page_size,
        )
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]
