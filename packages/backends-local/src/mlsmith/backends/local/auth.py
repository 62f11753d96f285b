"""AuthProvider for kind ``local``: argon2id passwords (argon2-cffi) and HS256 JWTs (pyjwt).

Follows SECURITY.md: argon2 library defaults, ``algorithms=["HS256"]`` pinned, required claims
``exp iat iss aud sub jti typ``, leeway at most 30 s, 256-bit signing keys. The claim rules are
shared with the core's fake in ``mlsmith.core.token_rules``; signing and verifying are pyjwt's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, ValidationError

from mlsmith.core import token_rules
from mlsmith.core.errors import ConfigError, Unauthenticated
from mlsmith.core.token_rules import REQUIRED_CLAIMS


class LocalAuthProvider:
    def __init__(
        self, hasher: PasswordHasher, *, issuer: str, audience: str, leeway_s: int
    ) -> None:
        self._hasher = hasher
        self._issuer, self._audience, self._leeway = issuer, audience, leeway_s

    # -- passwords ----------------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            # Mismatch and an unreadable stored hash look the same to the caller: not verified.
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, claims: Mapping[str, Any], key: bytes, ttl_s: int) -> str:
        payload = token_rules.issue_payload(
            claims, key, ttl_s, issuer=self._issuer, audience=self._audience
        )
        return jwt.encode(payload, key, algorithm="HS256")

    def verify_token(self, token: str, key: bytes) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["HS256"],  # pinned: never let the token's header choose
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            # Which check failed stays in our logs, not in the caller's hands.
            raise Unauthenticated("invalid or expired token") from None

    # -- API keys -----------------------------------------------------------------------------

    def hash_api_key(self, secret: str) -> str:
        # Unsalted on purpose: the key is high-entropy and must be found by its digest.
        return hashlib.sha256(secret.encode()).hexdigest()

    def close(self) -> None:
        return None


class LocalAuthOptions(BaseModel, extra="forbid"):
    issuer: str = token_rules.DEFAULT_ISSUER
    audience: str = token_rules.DEFAULT_AUDIENCE
    leeway_s: int = Field(default=10, ge=0, le=token_rules.MAX_LEEWAY_S)


def build(url: str, options: Mapping[str, Any], ctx: object = None) -> LocalAuthProvider:
    try:
        opts = LocalAuthOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"invalid auth options: {exc}", setting="auth_options") from exc
    return LocalAuthProvider(
        PasswordHasher(), issuer=opts.issuer, audience=opts.audience, leeway_s=opts.leeway_s
    )
