"""Access tokens, refresh-token rotation, logout and password change."""

from __future__ import annotations

import json
import logging
import time

import pytest

from mlsmith.core.errors import InvalidInput, PermissionDenied, Unauthenticated
from mlsmith.core.services import identity, principals

from .conftest import PASSWORD, b64


def _login(backends, email="admin@example.com", password=PASSWORD):
    return identity.login(backends, email=email, password=password, client="10.0.0.1")


def _auth(backends, token):
    return principals.authenticate(backends, f"Bearer {token}")


def _claims(user, **extra):
    now = int(time.time())
    return {
        "sub": user.id,
        "typ": "access",
        "ver": user.token_version,
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "iss": "mlsmith",
        "aud": "mlsmith",
        **extra,
    }


# -- access tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Basic abc", "Bearer a b", "Token x.y.z", "Bearer é.é.é"]
)
def test_missing_or_malformed_authorization_is_unauthenticated(backends, admin, header):
    with pytest.raises(Unauthenticated):
        principals.authenticate(backends, header)


def test_a_hand_made_token_with_our_key_is_accepted(backends, admin, jwt_factory):
    """Control for the tests below: the hand-made tokens differ from valid ones in one point."""
    user, _ = admin
    token = jwt_factory(_claims(user), principals.signing_key(backends))
    assert _auth(backends, token).user.id == user.id


def test_expired_access_token_is_refused(backends, admin, jwt_factory):
    user, _ = admin
    past = int(time.time()) - 3600
    token = jwt_factory(_claims(user, iat=past, exp=past + 900), principals.signing_key(backends))
    with pytest.raises(Unauthenticated):
        _auth(backends, token)


def test_alg_none_token_is_refused(backends, admin, jwt_factory):
    user, _ = admin
    with pytest.raises(Unauthenticated):
        _auth(backends, jwt_factory(_claims(user), b"", alg="none"))


def test_tampered_token_is_refused(backends, admin, add_user):
    user, _ = admin
    bob = add_user("bob@example.com")
    head, body, sig = _login(backends, "bob@example.com").access_token.split(".")
    claims = json.loads(_pad(body))
    claims["sub"] = user.id  # bob tries to become the admin
    forged = f"{head}.{b64(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(Unauthenticated):
        _auth(backends, forged)
    assert _auth(backends, f"{head}.{body}.{sig}").user.id == bob.id


def test_token_signed_with_another_key_is_refused(backends, admin, jwt_factory):
    user, _ = admin
    with pytest.raises(Unauthenticated):
        _auth(backends, jwt_factory(_claims(user), b"k" * 32))


def test_token_of_another_type_is_refused(backends, admin):
    user, _ = admin
    key = principals.signing_key(backends)
    token = backends.auth.issue_token({"sub": user.id, "typ": "refresh", "ver": 0}, key, 60)
    with pytest.raises(Unauthenticated):
        _auth(backends, token)
    without_version = backends.auth.issue_token({"sub": user.id, "typ": "access"}, key, 60)
    with pytest.raises(Unauthenticated):
        _auth(backends, without_version)


def test_token_of_a_disabled_user_is_refused(backends, admin, add_user):
    bob = add_user("bob@example.com")
    token = _login(backends, "bob@example.com").access_token
    with backends.metadata.unit_of_work() as uow:
        u = uow.users.get(bob.id)
        u.disabled = True
        uow.users.save(u)
    with pytest.raises(Unauthenticated):
        _auth(backends, token)


# -- refresh tokens -----------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token_and_issues_a_working_access_token(backends, admin):
    first = _login(backends)
    second = identity.refresh(backends, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert _auth(backends, second.access_token).user.id == admin[0].id
    third = identity.refresh(backends, second.refresh_token)
    assert _auth(backends, third.access_token).user.id == admin[0].id


def test_refresh_tokens_are_stored_only_as_hashes(backends, admin):
    pair = _login(backends)
    assert pair.refresh_token not in repr(backends.metadata._state)
    assert len(pair.refresh_token) >= 43  # 256 bits, base64url


def test_reused_refresh_token_revokes_its_family(backends, admin, caplog):
    stolen = _login(backends)
    newer = identity.refresh(backends, stolen.refresh_token)  # the legitimate client rotated
    other_session = _login(backends)  # another device: another family
    with (
        caplog.at_level(logging.WARNING, logger="mlsmith.audit"),
        pytest.raises(Unauthenticated),
    ):
        identity.refresh(backends, stolen.refresh_token)  # the thief replays the old one
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, newer.refresh_token)  # the whole family is dead
    assert any("reuse" in r.getMessage() for r in caplog.records)
    assert all(stolen.refresh_token not in r.getMessage() for r in caplog.records)
    identity.refresh(backends, other_session.refresh_token)  # other families live on


def test_unknown_refresh_token_is_refused(backends, admin):
    for token in ["", "nope", "x" * 10_000]:
        with pytest.raises(Unauthenticated):
            identity.refresh(backends, token)


def test_refresh_token_expires_when_idle(make_backends):
    backends = make_backends(refresh_idle_ttl_s=1)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    pair = _login(backends)
    time.sleep(1.2)
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)


def test_refresh_family_expires_absolutely_however_active(make_backends):
    backends = make_backends(refresh_idle_ttl_s=3600, refresh_absolute_ttl_s=1)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    pair = identity.refresh(backends, _login(backends).refresh_token)  # within the family's life
    time.sleep(1.2)
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)


def test_refresh_is_refused_for_a_disabled_user(backends, admin, add_user):
    bob = add_user("bob@example.com")
    pair = _login(backends, "bob@example.com")
    with backends.metadata.unit_of_work() as uow:
        u = uow.users.get(bob.id)
        u.disabled = True
        uow.users.save(u)
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)


# -- logout and password change -----------------------------------------------------------------


def test_logout_kills_the_access_token_and_the_refresh_family(backends, admin):
    pair = _login(backends)
    principal = _auth(backends, pair.access_token)
    identity.logout(backends, principal, pair.refresh_token)
    with pytest.raises(Unauthenticated):
        _auth(backends, pair.access_token)  # token_version moved on
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)
    fresh = _login(backends)  # signing in again works
    assert _auth(backends, fresh.access_token).user.token_version == 1


def test_logout_with_a_session_keeps_other_refresh_families(backends, admin):
    here, elsewhere = _login(backends), _login(backends)
    identity.logout(backends, _auth(backends, here.access_token), here.refresh_token)
    with pytest.raises(Unauthenticated):
        _auth(backends, elsewhere.access_token)  # every access token dies
    again = identity.refresh(backends, elsewhere.refresh_token)  # the other session refreshes
    assert _auth(backends, again.access_token).user.id == admin[0].id


def test_logout_without_a_refresh_token_revokes_every_session(backends, admin):
    here, elsewhere = _login(backends), _login(backends)
    identity.logout(backends, _auth(backends, here.access_token))
    for pair in (here, elsewhere):
        with pytest.raises(Unauthenticated):
            identity.refresh(backends, pair.refresh_token)


def test_logout_ignores_a_refresh_token_of_another_user(backends, admin, add_user):
    add_user("bob@example.com")
    bobs = _login(backends, "bob@example.com")
    mine = _login(backends)
    identity.logout(backends, _auth(backends, mine.access_token), bobs.refresh_token)
    identity.refresh(backends, bobs.refresh_token)


def test_change_password_invalidates_tokens_and_the_old_password(backends, admin):
    pair = _login(backends)
    principal = _auth(backends, pair.access_token)
    new = "an entirely new passphrase"
    identity.change_password(backends, principal, PASSWORD, new)
    with pytest.raises(Unauthenticated):
        _auth(backends, pair.access_token)
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)
    with pytest.raises(Unauthenticated):
        _login(backends, password=PASSWORD)
    _login(backends, password=new)


def test_change_password_needs_the_current_one_and_a_valid_new_one(backends, admin):
    principal = _auth(backends, _login(backends).access_token)
    with pytest.raises(PermissionDenied):
        identity.change_password(backends, principal, "not my password", "a new long passphrase")
    with pytest.raises(InvalidInput):
        identity.change_password(backends, principal, PASSWORD, "short")
    _login(backends)  # nothing changed


def _pad(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
