from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from mlsmith.core.domain import Membership, Role, User
from mlsmith.core.services import identity, principals
from mlsmith.core.services.principals import Principal
from mlsmith.core.settings import Settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_backends():
    """Fresh fake backends with setting overrides (each gets its own throttle state)."""
    from mlsmith.core.testing.fakes.backends import fake_backends

    made = []

    def make(**overrides):
        b = fake_backends(Settings(workers=2, lease_s=5.0, **overrides))
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def backends(make_backends):
    return make_backends()


@pytest.fixture
def admin(backends):
    """The bootstrapped platform admin and their workspace."""
    return identity.bootstrap(
        backends, email="admin@example.com", password=PASSWORD, workspace_name="team-a"
    )


@pytest.fixture
def add_user(backends, admin):
    """A user created the way an admin would (no self-registration), optionally a member."""

    def add(email: str, *, workspace_id: str | None = None, role: Role = Role.MEMBER) -> User:
        user = User(email=email, password_hash=backends.auth.hash_password(PASSWORD))
        with backends.metadata.unit_of_work() as uow:
            uow.users.add(user)
            if workspace_id:
                uow.memberships.add(Membership(workspace_id, user.id, role))
        return user

    return add


@pytest.fixture
def signin(backends):
    """Log in and authenticate with the access token: the Principal a request would carry."""

    def signin(email: str, password: str = PASSWORD, client: str = "10.0.0.1") -> Principal:
        pair = identity.login(backends, email=email, password=password, client=client)
        return principals.authenticate(backends, f"Bearer {pair.access_token}")

    return signin


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_jwt(claims: dict, key: bytes, alg: str = "HS256") -> str:
    """A JWT signed by hand (lets a test choose iat/exp in the past, or alg none)."""
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.digest(key, f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(sig)}"


@pytest.fixture
def jwt_factory():
    return hand_made_jwt
