"""Platform administration: only platform admins; disabling ends every session."""

from __future__ import annotations

import pandas as pd
import pytest

from mlsmith.core.domain import Role, RunStatus
from mlsmith.core.errors import Conflict, PermissionDenied, Unauthenticated
from mlsmith.core.services import access, api_keys, datasets, identity, principals, training
from mlsmith.core.services import users_admin as admin_svc

from .conftest import PASSWORD


def test_non_admins_are_refused(backends, admin, add_user, signin):
    add_user("bob@example.com", workspace_id=admin[1].id, role=Role.ADMIN)  # workspace admin only
    bob = signin("bob@example.com")
    with pytest.raises(PermissionDenied):
        admin_svc.list_users(backends, bob)
    with pytest.raises(PermissionDenied):
        admin_svc.set_disabled(backends, bob, admin[0].id, True)
    with pytest.raises(PermissionDenied):
        admin_svc.stats(backends, bob)


def test_disabling_a_user_ends_their_sessions_and_keys(backends, admin, add_user, signin):
    bob = add_user("bob@example.com")
    pair = identity.login(backends, email="bob@example.com", password=PASSWORD, client="c")
    bob_principal = principals.authenticate(backends, f"Bearer {pair.access_token}")
    _, key = api_keys.create(backends, bob_principal, name="k")
    me = signin("admin@example.com")
    assert admin_svc.set_disabled(backends, me, bob.id, True).disabled is True
    for credential in (pair.access_token, key):
        with pytest.raises(Unauthenticated):
            principals.authenticate(backends, f"Bearer {credential}")
    with pytest.raises(Unauthenticated):
        identity.refresh(backends, pair.refresh_token)
    with pytest.raises(Unauthenticated):
        identity.login(backends, email="bob@example.com", password=PASSWORD, client="c")
    admin_svc.set_disabled(backends, me, bob.id, False)
    identity.login(backends, email="bob@example.com", password=PASSWORD, client="c")
    principals.authenticate(backends, f"Bearer {key}")  # keys work again once re-enabled


def test_admin_cannot_disable_themselves(backends, admin, signin):
    me = signin("admin@example.com")
    with pytest.raises(Conflict):
        admin_svc.set_disabled(backends, me, me.user.id, True)


def test_list_users_and_stats(backends, admin, add_user, signin):
    add_user("bob@example.com")
    me = signin("admin@example.com")
    assert [u.email for u in admin_svc.list_users(backends, me)] == [
        "admin@example.com",
        "bob@example.com",
    ]
    scope = access.scope_in(backends, me, admin[1].id, Role.MEMBER)
    ds = datasets.ingest_frame(backends, scope, pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1] * 2}))
    training.start_run(backends, scope, ds.id, "y")
    cancelled = training.start_run(backends, scope, ds.id, "y")
    training.cancel_run(backends, scope, cancelled.id)
    stats = admin_svc.stats(backends, me)
    assert stats["users"] == 2 and stats["workspaces"] == 1 and stats["models"] == 0
    assert stats["runs"]["total"] == 2
    assert stats["runs"][RunStatus.QUEUED.value] == 1
    assert stats["runs"][RunStatus.CANCELLED.value] == 1
