"""Claim rules for the access tokens every AuthProvider issues (SECURITY.md), kept once.

The local adapter signs and verifies with pyjwt, the core's fake with stdlib HMAC (each pins HS256
where it signs, in plain sight); what goes into a token, what a caller may ask for and which claims a
verifier requires are the same for both and live here, so the fake cannot drift from the real thing.
Stdlib only: the core's fakes use it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from mlsmith.core.errors import InvalidInput

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "typ")
# Set by the provider from its clock and configuration; a caller choosing them could mint a token
# that outlives its ttl or claims another issuer.
PROVIDER_CLAIMS = frozenset({"exp", "iat", "jti", "iss", "aud"})
CALLER_CLAIMS = ("sub", "typ")  # who the token is for and what it is for: must be given
MIN_KEY_BYTES = 32  # 256 bits, the HS256 output size (RFC 7518 section 3.2)
MAX_LEEWAY_S = 30  # clock skew tolerated when checking exp and iat
DEFAULT_ISSUER = DEFAULT_AUDIENCE = "mlsmith"


def check_issue_args(claims: Mapping[str, Any], key: bytes, ttl_s: int) -> None:
    """Refuse what would make a weak or unverifiable token (shared rules of issue_token)."""
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInput("token signing key must be at least 256 bits")
    if ttl_s <= 0:
        raise InvalidInput("token lifetime must be positive")
    reserved = PROVIDER_CLAIMS & claims.keys()
    if reserved:
        raise InvalidInput(f"claims {sorted(reserved)} are set by the provider")
    for name in CALLER_CLAIMS:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidInput(f"claim {name!r} must be a non-empty string")


def issue_payload(
    claims: Mapping[str, Any], key: bytes, ttl_s: int, *, issuer: str, audience: str
) -> dict[str, Any]:
    """The claims to sign for ``issue_token``: the caller's plus the provider's, after the checks."""
    check_issue_args(claims, key, ttl_s)
    now = int(time.time())
    return {
        **claims,
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_hex(16),
        "iss": issuer,
        "aud": audience,
    }


def check_leeway(leeway_s: int) -> None:
    """Refuse a leeway that would keep expired tokens alive for long."""
    if not 0 <= leeway_s <= MAX_LEEWAY_S:
        raise InvalidInput(f"leeway_s must be between 0 and {MAX_LEEWAY_S}")
