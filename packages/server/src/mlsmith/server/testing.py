"""Test helpers for server tests (here and in other packages): settings for fake backends, a
TestClient wrapper with sign-in helpers, hand-made JWTs. Needs httpx (a dev dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from mlsmith.core.backends import Backends
from mlsmith.core.settings import Settings
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server.app import create_app

API = "/api/v1"
PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only, never a default


def settings(**overrides: Any) -> Settings:
    base = {"workers": 2, "lease_s": 5.0, "allow_registration": True}
    return Settings(**{**base, **overrides})


@dataclass
class Api:
    """A TestClient plus the backends under it and helpers to sign users in."""

    client: TestClient
    backends: Backends

    def bootstrap(self, email: str = "admin@example.com", workspace: str = "alpha") -> dict:
        r = self.client.post(
            f"{API}/setup/bootstrap",
            json={"email": email, "password": PASSWORD, "workspace_name": workspace},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def register(self, email: str) -> dict:
        r = self.client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return r.json()

    def login(self, email: str, password: str = PASSWORD) -> dict:
        r = self.client.post(f"{API}/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    def headers(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(email)['access_token']}"}


def make_test_api(**overrides: Any) -> Api:
    """An app on fresh fake backends (no worker), entered; close it with ``api.client.__exit__``."""
    backends = fake_backends(settings(**overrides))
    client = TestClient(create_app(backends, start_worker=False), raise_server_exceptions=False)
    client.__enter__()
    return Api(client, backends)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def make_jwt(header: dict, claims: dict, key: bytes | None) -> str:
    """A hand-made JWT (HS256 over ``key``; no signature when ``key`` is None)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    return f"{signing_input}.{b64url(hmac.digest(key, signing_input.encode(), hashlib.sha256))}"
