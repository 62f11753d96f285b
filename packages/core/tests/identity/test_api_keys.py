"""API keys: shown once, stored hashed, bound, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlsmith.core.domain import Role, utcnow
from mlsmith.core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from mlsmith.core.services import access, api_keys, principals, workspaces


def _auth(backends, key):
    return principals.authenticate(backends, f"Bearer {key}")


def test_api_key_round_trip(backends, admin, signin):
    me = signin("admin@example.com")
    key, plaintext = api_keys.create(backends, me, name="ci")
    assert plaintext.startswith("mls_") and plaintext.startswith(key.key_id + "_")
    principal = _auth(backends, plaintext)
    assert principal.via == "api_key" and principal.user.id == me.user.id
    assert principal.api_key is not None and principal.api_key.id == key.id
    assert [k.key_id for k in api_keys.list_keys(backends, me)] == [key.key_id]
    ws = admin[1]
    assert access.scope_in(backends, principal, ws.id, Role.ADMIN).role is Role.ADMIN


def test_api_key_plaintext_is_not_stored_anywhere(backends, admin, signin):
    _, plaintext = api_keys.create(backends, signin("admin@example.com"), name="ci")
    secret = plaintext.split("_")[2][:64]
    dump = repr(backends.metadata._state)
    assert plaintext not in dump and secret not in dump
    assert backends.auth.hash_api_key(plaintext) in dump  # what is stored instead


def test_a_mistyped_key_is_refused(backends, admin, signin):
    _, plaintext = api_keys.create(backends, signin("admin@example.com"), name="ci")
    i = len(plaintext) - 20
    typo = plaintext[:i] + ("0" if plaintext[i] != "0" else "1") + plaintext[i + 1 :]
    with pytest.raises(Unauthenticated):
        api_keys.parse_key(typo)  # the checksum catches it, before any lookup
    with pytest.raises(Unauthenticated):
        _auth(backends, typo)


def test_a_well_formed_key_that_was_never_issued_is_refused(backends, admin, signin):
    key, _ = api_keys.create(backends, signin("admin@example.com"), name="ci")
    _, other = api_keys._new_plaintext()  # right shape, right checksum, unknown
    with pytest.raises(Unauthenticated):
        _auth(backends, other)
    # Known key id with another secret (checksum recomputed): the hash comparison refuses it.
    body = f"{key.key_id}_{'a' * 64}"
    with pytest.raises(Unauthenticated):
        _auth(backends, body + api_keys._checksum(body))


def test_key_bound_to_workspace_a_is_not_found_in_workspace_b(backends, admin, signin):
    me = signin("admin@example.com")
    ws_a = admin[1]
    ws_b = workspaces.create(backends, me, "team-b")  # the user is an admin of both
    _, plaintext = api_keys.create(backends, me, name="a-only", workspace_id=ws_a.id)
    principal = _auth(backends, plaintext)
    assert access.scope_in(backends, principal, ws_a.id).workspace_id == ws_a.id
    with pytest.raises(NotFound) as exc:
        access.scope_in(backends, principal, ws_b.id)
    with pytest.raises(NotFound) as missing:
        access.scope_in(backends, principal, "ws_doesnotexist")
    assert str(exc.value).replace(ws_b.id, "X") == str(missing.value).replace(
        "ws_doesnotexist", "X"
    )
    assert [w.id for w in workspaces.list_for(backends, principal)] == [ws_a.id]


def test_binding_a_key_needs_membership(backends, admin, signin, add_user):
    add_user("bob@example.com")
    bob = signin("bob@example.com")
    with pytest.raises(NotFound):
        api_keys.create(backends, bob, name="x", workspace_id=admin[1].id)


def test_revoked_key_is_refused(backends, admin, signin):
    me = signin("admin@example.com")
    key, plaintext = api_keys.create(backends, me, name="ci")
    _auth(backends, plaintext)
    revoked = api_keys.revoke(backends, me, key.key_id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated):
        _auth(backends, plaintext)


def test_expired_key_is_refused(backends, admin, signin):
    me = signin("admin@example.com")
    key, plaintext = api_keys.create(backends, me, name="ci", expires_in_days=1)
    _auth(backends, plaintext)
    with backends.metadata.unit_of_work() as uow:
        stored = uow.api_keys.get(key.key_id)
        stored.expires_at = utcnow() - timedelta(seconds=1)
        uow.api_keys.save(stored)
    with pytest.raises(Unauthenticated):
        _auth(backends, plaintext)


def test_key_of_a_disabled_user_is_refused(backends, admin, signin, add_user):
    bob_user = add_user("bob@example.com")
    _, plaintext = api_keys.create(backends, signin("bob@example.com"), name="ci")
    with backends.metadata.unit_of_work() as uow:
        u = uow.users.get(bob_user.id)
        u.disabled = True
        uow.users.save(u)
    with pytest.raises(Unauthenticated):
        _auth(backends, plaintext)


def test_other_users_keys_cannot_be_revoked(backends, admin, signin, add_user):
    add_user("bob@example.com")
    key, plaintext = api_keys.create(backends, signin("admin@example.com"), name="ci")
    bob = signin("bob@example.com")
    for ref in (key.key_id, key.id):
        with pytest.raises(NotFound):
            api_keys.revoke(backends, bob, ref)
    assert api_keys.list_keys(backends, bob) == []
    _auth(backends, plaintext)  # still works


def test_last_used_is_written_at_most_once_a_minute(backends, admin, signin):
    key, plaintext = api_keys.create(backends, signin("admin@example.com"), name="ci")

    def last_used():
        with backends.metadata.unit_of_work() as uow:
            return uow.api_keys.get(key.key_id).last_used_at

    def set_last_used(value):
        with backends.metadata.unit_of_work() as uow:
            k = uow.api_keys.get(key.key_id)
            k.last_used_at = value
            uow.api_keys.save(k)

    _auth(backends, plaintext)
    assert last_used() is not None
    recent = utcnow() - timedelta(seconds=30)
    set_last_used(recent)
    _auth(backends, plaintext)
    assert last_used() == recent
    stale = utcnow() - timedelta(minutes=2)
    set_last_used(stale)
    _auth(backends, plaintext)
    assert last_used() > stale


def test_an_api_key_cannot_mint_keys(backends, admin, signin):
    me = signin("admin@example.com")
    _, plaintext = api_keys.create(backends, me, name="ci", workspace_id=admin[1].id)
    with pytest.raises(PermissionDenied):
        api_keys.create(backends, _auth(backends, plaintext), name="escape")


@pytest.mark.parametrize(
    ("name", "days"), [("", None), ("x" * 101, None), ("ok", 0), ("ok", 100_000)]
)
def test_invalid_key_requests_are_refused(backends, admin, signin, name, days):
    with pytest.raises(InvalidInput):
        api_keys.create(backends, signin("admin@example.com"), name=name, expires_in_days=days)
