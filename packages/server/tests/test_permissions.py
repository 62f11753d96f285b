"""Deny by default: every route declares a permission, and the app refuses to start otherwise."""

from __future__ import annotations

import re
import sys
import types

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from mlsmith.core.errors import ConfigError
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server import app as app_module
from mlsmith.server.app import create_app
from mlsmith.server.security import grants, permission, permission_of, routes


def _with_module(monkeypatch, router: APIRouter) -> None:
    mod = types.ModuleType("mlsmith_test_routes")
    mod.router = router
    monkeypatch.setitem(sys.modules, "mlsmith_test_routes", mod)
    monkeypatch.setattr(app_module, "ROUTER_MODULES", [*app_module.ROUTER_MODULES, mod.__name__])


def test_a_route_without_permission_refuses_start_up(monkeypatch):
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict:
        return {}

    _with_module(monkeypatch, router)
    with pytest.raises(ConfigError, match=r"GET /api/v1/forgotten"):
        create_app(fake_backends(), start_worker=False)


def test_a_route_added_after_create_app_refuses_the_lifespan():
    app = create_app(fake_backends(), start_worker=False)
    app.add_api_route("/late", lambda: {})
    with pytest.raises(ConfigError, match="/late"), TestClient(app):
        pass


def test_a_router_level_permission_counts(monkeypatch):
    router = APIRouter(dependencies=[permission("things:read")])

    @router.get("/things")
    def things() -> dict:
        return {}

    _with_module(monkeypatch, router)
    app = create_app(fake_backends(), start_worker=False)
    with TestClient(app) as client:
        assert client.get("/api/v1/things").status_code == 401


def test_every_route_of_the_app_declares_a_permission_and_non_public_ones_need_credentials():
    app = create_app(fake_backends(), start_worker=False)
    checked = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        for route in routes(app):
            name = permission_of(route)
            if route.path in ("/openapi.json", "/docs", "/docs/oauth2-redirect"):
                continue
            assert name is not None, route.path
            if name == "public":
                continue
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            for method in route.methods or ():
                r = client.request(method, path, json={})
                assert r.status_code == 401, (method, route.path, r.status_code)
                checked += 1
    assert checked > 20


def test_permission_names_are_validated():
    for bad in ("", "runs", "Runs:read", "runs:read extra", "runs:"):
        with pytest.raises(ValueError):
            permission(bad)


def test_scope_grants():
    assert grants("*", "runs:read")
    assert grants("runs:*", "runs:read")
    assert grants("runs:read", "runs:read")
    assert not grants("runs:read", "runs:write")
    assert not grants("runs:*", "datasets:read")
    assert not grants("run:*", "runs:read")
