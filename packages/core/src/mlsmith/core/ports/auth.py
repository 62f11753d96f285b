"""Auth port: credential primitives. Identity and authorization decisions stay in core services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AuthProvider(Protocol):
    def hash_password(self, password: str) -> str: ...

    def verify_password(self, password_hash: str, password: str) -> bool:
        """False on mismatch (never raises for a wrong password)."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def issue_token(self, claims: Mapping[str, Any], key: bytes, ttl_s: int) -> str:
        """Signed access token; adds iat/exp/jti and the configured iss/aud."""
        ...

    def verify_token(self, token: str, key: bytes) -> dict[str, Any]:
        """Claims of a valid token; raises Unauthenticated for anything else (bad signature,
        ``alg: none``, expired, wrong issuer/audience, missing claims)."""
        ...

    def hash_api_key(self, secret: str) -> str:
        """Deterministic keyed-free digest used to look a presented key up (SHA-256 hex)."""
        ...

    def close(self) -> None: ...
