"""AuthProvider contract: every auth adapter (and the fake) must pass it.

Subclass with ``__test__ = True`` and an ``auth`` fixture. Access tokens are compact JWS with HS256
(SECURITY.md), so the suite forges tokens by hand: it re-signs a genuine token's payload after
changing one thing, and checks first that an unchanged re-signed token *is* accepted, so every
rejection below is caused by the one change and not by a broken forger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from mlsmith.core.errors import InvalidInput, Unauthenticated
from mlsmith.core.ports.auth import AuthProvider

KEY = bytes(range(32))  # 256-bit, as the secrets port provides
OTHER_KEY = bytes(range(1, 33))
PASSWORD = "correct horse battery staple"  # noqa: S105 (test data, not a credential)
CLAIMS = {"sub": "usr_1", "typ": "access", "ws": "ws_1"}
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "typ")
HOUR = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def unb64url_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def forge(
    payload: dict[str, Any],
    key: bytes,
    *,
    header: dict[str, Any] | None = None,
    digest: Callable[..., Any] = hashlib.sha256,
) -> str:
    """A compact JWS signed by hand (HMAC with ``digest``)."""
    signing_input = (
        f"{b64url_json(header or {'alg': 'HS256', 'typ': 'JWT'})}.{b64url_json(payload)}"
    )
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def payload_of(token: str) -> dict[str, Any]:
    return unb64url_json(token.split(".")[1])


class AuthProviderContract:
    __test__ = False

    # -- passwords ----------------------------------------------------------------------------

    def test_password_hash_is_salted_and_never_the_password(self, auth: AuthProvider) -> None:
        first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
        assert PASSWORD not in first
        assert first != second

    def test_right_password_verifies_and_wrong_ones_do_not(self, auth: AuthProvider) -> None:
        stored = auth.hash_password(PASSWORD)
        assert auth.verify_password(stored, PASSWORD) is True
        assert auth.verify_password(stored, PASSWORD + " ") is False
        assert auth.verify_password(stored, "") is False
        assert auth.verify_password(auth.hash_password("another password!"), PASSWORD) is False

    def test_malformed_stored_hash_verifies_false_instead_of_raising(
        self, auth: AuthProvider
    ) -> None:
        assert auth.verify_password("not-a-hash", PASSWORD) is False
        assert auth.verify_password("", PASSWORD) is False

    def test_fresh_hash_needs_no_rehash(self, auth: AuthProvider) -> None:
        assert auth.needs_rehash(auth.hash_password(PASSWORD)) is False

    # -- tokens: the happy path ---------------------------------------------------------------

    def test_issued_token_verifies_to_its_claims_plus_the_standard_ones(
        self, auth: AuthProvider
    ) -> None:
        claims = auth.verify_token(auth.issue_token(CLAIMS, KEY, ttl_s=900), KEY)
        assert {k: claims[k] for k in CLAIMS} == CLAIMS
        assert set(REQUIRED_CLAIMS) <= set(claims)
        assert claims["exp"] - claims["iat"] == 900

    def test_every_token_gets_its_own_id(self, auth: AuthProvider) -> None:
        first = auth.verify_token(auth.issue_token(CLAIMS, KEY, ttl_s=900), KEY)
        second = auth.verify_token(auth.issue_token(CLAIMS, KEY, ttl_s=900), KEY)
        assert first["jti"] != second["jti"]

    def test_hand_signed_copy_of_a_valid_token_is_accepted(self, auth: AuthProvider) -> None:
        # The control for every forged-token test below.
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        assert auth.verify_token(forge(payload, KEY), KEY)["sub"] == "usr_1"

    # -- tokens: everything else is Unauthenticated -------------------------------------------

    def test_expired_token_is_refused(self, auth: AuthProvider) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        now = int(time.time())
        payload.update(iat=now - 2 * HOUR, exp=now - HOUR)  # far beyond any allowed leeway
        with pytest.raises(Unauthenticated):
            auth.verify_token(forge(payload, KEY), KEY)

    def test_token_issued_in_the_future_is_refused(self, auth: AuthProvider) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        now = int(time.time())
        payload.update(iat=now + HOUR, exp=now + 2 * HOUR)
        with pytest.raises(Unauthenticated):
            auth.verify_token(forge(payload, KEY), KEY)

    def test_tampered_signature_is_refused(self, auth: AuthProvider) -> None:
        head, body, signature = auth.issue_token(CLAIMS, KEY, ttl_s=900).split(".")
        # Change the first character: the last one carries padding bits that some decoders ignore.
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        with pytest.raises(Unauthenticated):
            auth.verify_token(f"{head}.{body}.{flipped}", KEY)

    def test_tampered_payload_is_refused(self, auth: AuthProvider) -> None:
        head, _body, signature = auth.issue_token(CLAIMS, KEY, ttl_s=900).split(".")
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        payload["sub"] = "usr_admin"
        with pytest.raises(Unauthenticated):
            auth.verify_token(f"{head}.{b64url_json(payload)}.{signature}", KEY)

    def test_token_signed_with_another_key_is_refused(self, auth: AuthProvider) -> None:
        with pytest.raises(Unauthenticated):
            auth.verify_token(auth.issue_token(CLAIMS, OTHER_KEY, ttl_s=900), KEY)

    @pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
    def test_unsigned_alg_none_token_is_refused(self, auth: AuthProvider, alg: str) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        token = f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(payload)}."
        with pytest.raises(Unauthenticated):
            auth.verify_token(token, KEY)

    def test_other_algorithm_with_the_same_key_is_refused(self, auth: AuthProvider) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        token = forge(payload, KEY, header={"alg": "HS512", "typ": "JWT"}, digest=hashlib.sha512)
        with pytest.raises(Unauthenticated):
            auth.verify_token(token, KEY)

    @pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
    def test_token_missing_a_required_claim_is_refused(
        self, auth: AuthProvider, claim: str
    ) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        del payload[claim]
        with pytest.raises(Unauthenticated):
            auth.verify_token(forge(payload, KEY), KEY)

    @pytest.mark.parametrize("claim", ["iss", "aud"])
    def test_token_for_another_issuer_or_audience_is_refused(
        self, auth: AuthProvider, claim: str
    ) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        payload[claim] = "someone-else"
        with pytest.raises(Unauthenticated):
            auth.verify_token(forge(payload, KEY), KEY)

    def test_non_numeric_expiry_is_refused(self, auth: AuthProvider) -> None:
        payload = payload_of(auth.issue_token(CLAIMS, KEY, ttl_s=900))
        payload["exp"] = "tomorrow"
        with pytest.raises(Unauthenticated):
            auth.verify_token(forge(payload, KEY), KEY)

    @pytest.mark.parametrize(
        "token", ["", "abc", "a.b", "a.b.c", "a.b.c.d", "...", "e30.e30.", "\u00e9.\u00e9.\u00e9"]
    )
    def test_malformed_token_is_refused(self, auth: AuthProvider, token: str) -> None:
        with pytest.raises(Unauthenticated):
            auth.verify_token(token, KEY)

    # -- tokens: issuing ----------------------------------------------------------------------

    def test_issuing_with_a_key_shorter_than_256_bits_is_refused(self, auth: AuthProvider) -> None:
        with pytest.raises(InvalidInput):
            auth.issue_token(CLAIMS, b"short", ttl_s=900)

    @pytest.mark.parametrize("missing", ["sub", "typ"])
    def test_issuing_without_subject_or_type_is_refused(
        self, auth: AuthProvider, missing: str
    ) -> None:
        claims = {k: v for k, v in CLAIMS.items() if k != missing}
        with pytest.raises(InvalidInput):
            auth.issue_token(claims, KEY, ttl_s=900)

    @pytest.mark.parametrize("reserved", ["exp", "iat", "jti", "iss", "aud"])
    def test_caller_cannot_choose_the_standard_claims(
        self, auth: AuthProvider, reserved: str
    ) -> None:
        with pytest.raises(InvalidInput):
            auth.issue_token({**CLAIMS, reserved: 1}, KEY, ttl_s=900)

    @pytest.mark.parametrize("ttl_s", [0, -1])
    def test_issuing_a_token_without_lifetime_is_refused(
        self, auth: AuthProvider, ttl_s: int
    ) -> None:
        with pytest.raises(InvalidInput):
            auth.issue_token(CLAIMS, KEY, ttl_s=ttl_s)

    # -- API keys -----------------------------------------------------------------------------

    def test_api_key_hash_is_the_sha256_hex_digest(self, auth: AuthProvider) -> None:
        secret = "mls_k1_s3cr3t"  # noqa: S105 (test data)
        digest = auth.hash_api_key(secret)
        assert digest == auth.hash_api_key(secret)
        assert digest != secret
        assert digest == hashlib.sha256(secret.encode()).hexdigest()
        assert auth.hash_api_key(secret + "x") != digest

    def test_provider_satisfies_the_port_protocol(self, auth: AuthProvider) -> None:
        assert isinstance(auth, AuthProvider)
