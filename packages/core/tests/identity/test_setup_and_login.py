"""Bootstrap, registration, login and its throttling."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from mlsmith.core.domain import Role
from mlsmith.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    PermissionDenied,
    Throttled,
    Unauthenticated,
)
from mlsmith.core.services import access, identity, principals, workspaces

from .conftest import PASSWORD


def test_bootstrap_creates_the_first_admin_with_their_workspace(backends):
    assert identity.setup_status(backends) == {
        "bootstrapped": False,
        "registration_enabled": False,
    }
    user, ws = identity.bootstrap(
        backends, email="  Admin@Example.COM ", password=PASSWORD, workspace_name="team-a"
    )
    assert user.is_admin and user.email == "admin@example.com"
    assert identity.setup_status(backends)["bootstrapped"] is True
    principal = principals.authenticate(
        backends,
        "Bearer "
        + identity.login(
            backends, email="admin@example.com", password=PASSWORD, client="c"
        ).access_token,
    )
    assert access.scope_in(backends, principal, ws.id, Role.ADMIN).role is Role.ADMIN


def test_bootstrap_works_once_only(backends, admin):
    with pytest.raises(Conflict):
        identity.bootstrap(
            backends, email="second@example.com", password=PASSWORD, workspace_name="other"
        )
    with backends.metadata.unit_of_work() as uow:
        assert uow.users.count() == 1


def test_concurrent_bootstraps_have_one_winner(backends):
    n = 8
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            identity.bootstrap(
                backends, email=f"a{i}@example.com", password=PASSWORD, workspace_name=f"ws{i}"
            )
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * (n - 1) + ["won"]
    with backends.metadata.unit_of_work() as uow:
        assert uow.users.count() == 1
        assert len(uow.workspaces.list()) == 1


def test_the_bootstrap_marker_alone_blocks_a_second_bootstrap(backends):
    """What makes the race safe on every store: a unique insert, not the user count."""
    with backends.metadata.unit_of_work() as uow:
        uow.keys.add(identity.BOOTSTRAP_MARKER, b"someone")
    with pytest.raises(Conflict):
        identity.bootstrap(backends, email="a@example.com", password=PASSWORD, workspace_name="w")
    with backends.metadata.unit_of_work() as uow:
        assert uow.users.count() == 0


@pytest.mark.parametrize("password", ["", "short-11chr", "x" * 1025])
def test_passwords_outside_12_to_1024_chars_are_refused(backends, password):
    with pytest.raises(InvalidInput):
        identity.bootstrap(backends, email="a@example.com", password=password, workspace_name="w")


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two@@example.com", "a b@example.com"])
def test_malformed_emails_are_refused(backends, email):
    with pytest.raises(InvalidInput):
        identity.bootstrap(backends, email=email, password=PASSWORD, workspace_name="w")


def test_registration_is_disabled_by_default(admin):
    from mlsmith.core.testing.fakes.backends import fake_backends

    default = fake_backends()  # the house settings, nothing overridden
    assert default.settings.allow_registration is False
    identity.bootstrap(default, email="a@example.com", password=PASSWORD, workspace_name="w")
    with pytest.raises(PermissionDenied):
        identity.register(default, email="b@example.com", password=PASSWORD)


def test_registration_when_enabled_makes_a_plain_user(make_backends):
    backends = make_backends(allow_registration=True)
    with pytest.raises(Conflict):  # nobody may sign up before the platform has its admin
        identity.register(backends, email="early@example.com", password=PASSWORD)
    identity.bootstrap(backends, email="a@example.com", password=PASSWORD, workspace_name="w")
    user = identity.register(backends, email="B@Example.com", password=PASSWORD)
    assert user.email == "b@example.com" and not user.is_admin
    with pytest.raises(AlreadyExists):
        identity.register(backends, email="b@example.com", password=PASSWORD)
    pair = identity.login(backends, email="b@example.com", password=PASSWORD, client="c")
    assert principals.authenticate(backends, f"Bearer {pair.access_token}").user.id == user.id


def test_login_succeeds_with_the_right_password(backends, admin):
    user, _ = admin
    pair = identity.login(backends, email=" ADMIN@example.com", password=PASSWORD, client="c")
    assert pair.token_type == "bearer"
    assert pair.expires_in == backends.settings.access_token_ttl_s
    principal = principals.authenticate(backends, f"Bearer {pair.access_token}")
    assert principal.user.id == user.id and principal.via == "token"
    with backends.metadata.unit_of_work() as uow:
        assert uow.users.get(user.id).last_login_at is not None


def test_wrong_password_and_unknown_user_fail_alike(backends, admin):
    with pytest.raises(Unauthenticated) as wrong:
        identity.login(backends, email="admin@example.com", password="x" * 20, client="c")
    with pytest.raises(Unauthenticated) as unknown:
        identity.login(backends, email="nobody@example.com", password="x" * 20, client="c")
    assert str(wrong.value) == str(unknown.value)
    assert wrong.value.details == unknown.value.details == {}


def test_unknown_users_are_checked_against_a_dummy_hash(backends, admin):
    calls: list[str] = []
    real = backends.auth.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    backends.auth.verify_password = spy  # the fake is a plain object; count real hash work
    with pytest.raises(Unauthenticated):
        identity.login(backends, email="nobody@example.com", password="x" * 20, client="c")
    assert len(calls) == 1 and calls[0].startswith("scrypt$")  # a real hash, real cost


def test_login_rehashes_a_password_with_outdated_parameters(backends, admin):
    user, _ = admin
    salt = b"0123456789abcdef"
    weak = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**10, r=8, p=1)
    from mlsmith.core.testing.fakes.auth import _b64e

    old_hash = f"scrypt$1024$8$1${_b64e(salt)}${_b64e(weak)}"
    with backends.metadata.unit_of_work() as uow:
        u = uow.users.get(user.id)
        u.password_hash = old_hash
        uow.users.save(u)
    assert backends.auth.needs_rehash(old_hash)
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="c")
    with backends.metadata.unit_of_work() as uow:
        new_hash = uow.users.get(user.id).password_hash
    assert new_hash != old_hash and not backends.auth.needs_rehash(new_hash)
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="c")


def test_disabled_user_cannot_log_in(backends, admin, add_user):
    bob = add_user("bob@example.com")
    with backends.metadata.unit_of_work() as uow:
        u = uow.users.get(bob.id)
        u.disabled = True
        uow.users.save(u)
    with pytest.raises(Unauthenticated):
        identity.login(backends, email="bob@example.com", password=PASSWORD, client="c")


# -- throttling --------------------------------------------------------------------------------


def _fail(backends, email="admin@example.com", client="10.0.0.1"):
    with pytest.raises(Unauthenticated):
        identity.login(backends, email=email, password="wrong password!", client=client)


def test_too_many_failures_for_an_account_are_throttled_with_retry_after(make_backends):
    backends = make_backends(login_max_failures=3, login_window_s=120)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    for i in range(3):
        _fail(backends, client=f"10.0.0.{i}")  # three addresses: the account counter trips
    with pytest.raises(Throttled) as exc:
        # Even the right password, from a fresh address, waits: guessing cannot continue.
        identity.login(backends, email="admin@example.com", password=PASSWORD, client="10.9.9.9")
    assert exc.value.code == "throttled"
    assert 1 <= exc.value.details["retry_after_s"] <= 120
    # Other accounts from other addresses are unaffected.
    with pytest.raises(Unauthenticated):
        identity.login(backends, email="other@example.com", password="x" * 12, client="10.1.1.1")


def test_too_many_failures_from_one_address_are_throttled_across_accounts(make_backends):
    backends = make_backends(login_max_failures=3, login_window_s=120)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    for i in range(3):
        _fail(backends, email=f"guess{i}@example.com", client="203.0.113.7")
    with pytest.raises(Throttled) as exc:
        identity.login(backends, email="admin@example.com", password=PASSWORD, client="203.0.113.7")
    assert exc.value.details["retry_after_s"] >= 1
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="198.51.100.1")


def test_unknown_accounts_are_throttled_like_known_ones(make_backends):
    backends = make_backends(login_max_failures=2, login_window_s=120)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    for i in range(2):
        _fail(backends, email="ghost@example.com", client=f"10.0.1.{i}")
    with pytest.raises(Throttled):
        identity.login(backends, email="ghost@example.com", password="x" * 12, client="10.7.7.7")


def test_a_successful_login_resets_the_account_counter(make_backends):
    backends = make_backends(login_max_failures=3, login_window_s=120)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    _fail(backends, client="10.0.0.1")
    _fail(backends, client="10.0.0.2")
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="10.0.0.3")
    _fail(backends, client="10.0.0.4")
    _fail(backends, client="10.0.0.5")  # 4 failures in the window, but only 2 since the success
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="10.0.0.6")


def test_throttling_ends_when_the_window_has_passed(make_backends):
    backends = make_backends(login_max_failures=2, login_window_s=1)
    identity.bootstrap(backends, email="admin@example.com", password=PASSWORD, workspace_name="w")
    _fail(backends)
    _fail(backends)
    with pytest.raises(Throttled):
        identity.login(backends, email="admin@example.com", password=PASSWORD, client="10.0.0.1")
    time.sleep(1.2)
    identity.login(backends, email="admin@example.com", password=PASSWORD, client="10.0.0.1")


def test_bootstrap_adopts_an_unowned_workspace_made_by_the_embedded_library(backends):
    from mlsmith.core.services.scope import default_scope

    embedded = default_scope(backends)  # the CLI made "default" before any user existed
    user, ws = identity.bootstrap(
        backends, email="a@example.com", password=PASSWORD, workspace_name="default"
    )
    assert ws.id == embedded.workspace_id
    principal = principals.Principal(user=user, via="token")
    assert [w.id for w in workspaces.list_for(backends, principal)] == [ws.id]
