"""Fake AuthProvider, stdlib only: scrypt password hashes and hand-made HS256 JWTs.

It applies the same claim rules as the real adapter (``mlsmith.core.token_rules``: required
``exp iat iss aud sub jti typ``, bounded leeway; HS256 only) so that core tests exercise real token
semantics; only the signing and checking by hand are the fake's. Stateless, hence thread-safe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from mlsmith.core import token_rules
from mlsmith.core.errors import Unauthenticated
from mlsmith.core.token_rules import check_issue_args as check_issue_args  # re-exported

# A set here: ``_verify`` checks a token's claims against it as a superset.
REQUIRED_CLAIMS = frozenset(token_rules.REQUIRED_CLAIMS)
# Deliberately cheap scrypt parameters: this is a fake for fast tests, not a password store.
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}
_HEADER = {"alg": "HS256", "typ": "JWT"}


class FakeAuthProvider:
    def __init__(
        self,
        *,
        issuer: str = token_rules.DEFAULT_ISSUER,
        audience: str = token_rules.DEFAULT_AUDIENCE,
        leeway_s: int = 10,
    ) -> None:
        token_rules.check_leeway(leeway_s)
        self._issuer, self._audience, self._leeway = issuer, audience, leeway_s

    # -- passwords ----------------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
        params = "$".join(str(_SCRYPT[k]) for k in ("n", "r", "p"))
        return f"scrypt${params}${_b64e(salt)}${_b64e(digest)}"

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            scheme, n, r, p, salt, digest = password_hash.split("$")
            if scheme != "scrypt":
                return False
            actual = hashlib.scrypt(
                password.encode(), salt=_b64d(salt), n=int(n), r=int(r), p=int(p)
            )
            return hmac.compare_digest(actual, _b64d(digest))
        except (ValueError, binascii.Error):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        parts = password_hash.split("$")
        if len(parts) != 6 or parts[0] != "scrypt":
            return True
        return parts[1:4] != [str(_SCRYPT[k]) for k in ("n", "r", "p")]

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, claims: Mapping[str, Any], key: bytes, ttl_s: int) -> str:
        payload = token_rules.issue_payload(
            claims, key, ttl_s, issuer=self._issuer, audience=self._audience
        )
        signing_input = f"{_b64e_json(_HEADER)}.{_b64e_json(payload)}"
        return f"{signing_input}.{_b64e(_sign(key, signing_input))}"

    def verify_token(self, token: str, key: bytes) -> dict[str, Any]:
        try:
            return self._verify(token, key)
        except Unauthenticated:
            raise
        except Exception:  # any parse error of attacker-controlled input means "not a valid token"
            raise Unauthenticated("invalid token") from None

    def _verify(self, token: str, key: bytes) -> dict[str, Any]:
        head, body, signature = token.split(".")
        header = json.loads(_b64d(head))
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise Unauthenticated("invalid token")
        # Compare the encoded form: it also refuses non-canonical spellings of the signature.
        if not hmac.compare_digest(signature, _b64e(_sign(key, f"{head}.{body}"))):
            raise Unauthenticated("invalid token")
        claims = json.loads(_b64d(body))
        if not isinstance(claims, dict) or not claims.keys() >= REQUIRED_CLAIMS:
            raise Unauthenticated("invalid token")
        now = time.time()
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
            raise Unauthenticated("invalid token")
        if exp <= now - self._leeway or iat > now + self._leeway:
            raise Unauthenticated("token expired or not yet valid")
        aud = claims["aud"]
        audiences = aud if isinstance(aud, list) else [aud]
        if claims["iss"] != self._issuer or self._audience not in audiences:
            raise Unauthenticated("invalid token")
        if not all(isinstance(claims[k], str) for k in ("sub", "jti", "typ")):
            raise Unauthenticated("invalid token")
        return claims

    # -- API keys -----------------------------------------------------------------------------

    def hash_api_key(self, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def close(self) -> None:
        return None


def _sign(key: bytes, signing_input: str) -> bytes:
    return hmac.digest(key, signing_input.encode(), "sha256")


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64e_json(obj: Any) -> str:
    return _b64e(json.dumps(obj, separators=(",", ":")).encode())


def _b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
