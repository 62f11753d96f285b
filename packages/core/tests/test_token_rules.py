"""The token claim rules shared by the local adapter and the fake, checked without any signer."""

import time

import pytest

from mlsmith.core import token_rules
from mlsmith.core.errors import InvalidInput

KEY = b"k" * token_rules.MIN_KEY_BYTES
CLAIMS = {"sub": "user-1", "typ": "access", "scope": "runs:read"}


def test_payload_keeps_the_callers_claims_and_adds_every_required_one() -> None:
    before = int(time.time())
    payload = token_rules.issue_payload(CLAIMS, KEY, 60, issuer="me", audience="you")

    assert set(token_rules.REQUIRED_CLAIMS) <= payload.keys()
    assert payload["scope"] == "runs:read"
    assert (payload["iss"], payload["aud"]) == ("me", "you")
    assert before <= payload["iat"] <= int(time.time())
    assert payload["exp"] == payload["iat"] + 60


def test_every_payload_gets_its_own_token_id() -> None:
    first, second = (
        token_rules.issue_payload(CLAIMS, KEY, 60, issuer="i", audience="a") for _ in range(2)
    )
    assert first["jti"] != second["jti"]


def test_a_key_shorter_than_256_bits_is_refused() -> None:
    with pytest.raises(InvalidInput, match="256 bits"):
        token_rules.check_issue_args(CLAIMS, KEY[:-1], 60)


@pytest.mark.parametrize("ttl_s", [0, -5])
def test_a_token_without_lifetime_is_refused(ttl_s: int) -> None:
    with pytest.raises(InvalidInput, match="lifetime"):
        token_rules.check_issue_args(CLAIMS, KEY, ttl_s)


@pytest.mark.parametrize("claim", sorted(token_rules.PROVIDER_CLAIMS))
def test_the_caller_cannot_choose_a_provider_claim(claim: str) -> None:
    with pytest.raises(InvalidInput, match="set by the provider"):
        token_rules.check_issue_args({**CLAIMS, claim: "x"}, KEY, 60)


@pytest.mark.parametrize("claim", token_rules.CALLER_CLAIMS)
@pytest.mark.parametrize("value", [None, "", 7])
def test_subject_and_type_must_be_non_empty_strings(claim: str, value: object) -> None:
    claims = {**CLAIMS, claim: value}
    if value is None:
        del claims[claim]
    with pytest.raises(InvalidInput, match=claim):
        token_rules.check_issue_args(claims, KEY, 60)


def test_every_required_claim_is_either_given_by_the_caller_or_set_by_the_provider() -> None:
    assert set(token_rules.REQUIRED_CLAIMS) == token_rules.PROVIDER_CLAIMS | set(
        token_rules.CALLER_CLAIMS
    )


@pytest.mark.parametrize("leeway_s", [-1, token_rules.MAX_LEEWAY_S + 1])
def test_a_leeway_outside_zero_to_thirty_seconds_is_refused(leeway_s: int) -> None:
    with pytest.raises(InvalidInput, match="leeway_s"):
        token_rules.check_leeway(leeway_s)


@pytest.mark.parametrize("leeway_s", [0, token_rules.MAX_LEEWAY_S])
def test_a_leeway_at_either_bound_is_accepted(leeway_s: int) -> None:
    token_rules.check_leeway(leeway_s)
