"""Who is calling: an ``Authorization: Bearer ...`` header turned into a ``Principal``.

Two kinds of credential share the header: a JWT access token (issued by ``identity.login`` and
``identity.refresh``) and an API key (``api_keys.create``), told apart by the API-key prefix. Every
failure is ``Unauthenticated`` with a message that names no user and no key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from mlsmith.core.domain import ApiKey, User, utcnow
from mlsmith.core.errors import NotFound, Unauthenticated
from mlsmith.core.services import platform_keys
from mlsmith.core.services.credentials import aware

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

JWT_SIGNING = "jwt-signing"  # name of the platform key that signs access tokens
ACCESS = "access"  # the ``typ`` claim of access tokens
API_KEY_PREFIX = "mls_"
MAX_CREDENTIAL_CHARS = 4096  # far above any token or key we issue; bounds parsing work
LAST_USED_EVERY = timedelta(minutes=1)  # write last_used_at at most this often per key


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "token" | "api_key"
    api_key: ApiKey | None = None

    @property
    def user_id(self) -> str:
        return self.user.id


def authenticate(backends: Backends, authorization: str | None) -> Principal:
    credential = _bearer(authorization)
    if credential.startswith(API_KEY_PREFIX):
        return _from_api_key(backends, credential)
    return _from_access_token(backends, credential)


def signing_key(backends: Backends) -> bytes:
    return platform_keys.get_key(backends, JWT_SIGNING)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing credentials")
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise Unauthenticated("malformed Authorization header; expected 'Bearer <token>'")
    credential = parts[1]
    if len(credential) > MAX_CREDENTIAL_CHARS or not credential.isascii():
        raise Unauthenticated("invalid credentials")
    return credential


def _from_access_token(backends: Backends, token: str) -> Principal:
    claims = backends.auth.verify_token(token, signing_key(backends))  # Unauthenticated if bad
    version = claims.get("ver")
    if claims.get("typ") != ACCESS or not isinstance(version, int) or isinstance(version, bool):
        raise Unauthenticated("invalid token")
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            user = uow.users.get(claims["sub"])
        except NotFound:
            raise Unauthenticated("invalid token") from None
    if user.disabled or user.token_version != version:
        raise Unauthenticated("token revoked")
    return Principal(user=user, via="token")


def _from_api_key(backends: Backends, presented: str) -> Principal:
    from mlsmith.core.services.api_keys import parse_key  # api_keys imports this module

    key_id = parse_key(presented)  # format and checksum: typos fail before any lookup
    digest = backends.auth.hash_api_key(presented)
    now = utcnow()
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            key = uow.api_keys.get(key_id)
        except NotFound:
            raise Unauthenticated("invalid API key") from None
        if not hmac.compare_digest(key.secret_hash, digest):
            raise Unauthenticated("invalid API key")
        if key.revoked_at is not None or (
            key.expires_at is not None and aware(key.expires_at) <= now
        ):
            raise Unauthenticated("API key revoked or expired")
        try:
            user = uow.users.get(key.user_id)
        except NotFound:
            raise Unauthenticated("invalid API key") from None
        if user.disabled:
            raise Unauthenticated("API key revoked or expired")
    if key.last_used_at is None or now - aware(key.last_used_at) >= LAST_USED_EVERY:
        # A separate short write, at most once a minute per key: the lookup above stays a
        # lock-free read on the hot path.
        key.last_used_at = now
        with backends.metadata.unit_of_work() as uow:
            uow.api_keys.save(key)
    return Principal(user=user, via="api_key", api_key=key)
