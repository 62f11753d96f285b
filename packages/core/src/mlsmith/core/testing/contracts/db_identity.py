"""Contract suite of the DB port, part two: identity (users, memberships, API keys, refresh tokens),
catalog (projects, experiments, data sources, deployments, reports) and the active-run queries.

Subclass with ``__test__ = True`` and a ``store`` fixture returning a migrated, empty store, exactly
as for ``MetadataStoreContract`` (the same test modules run both).

Orders the port leaves open are fixed here so that every store agrees: users, memberships, API keys
oldest first; projects, experiments, reports newest first; data sources by name; deployments by
slug. ``revoke_family`` / ``revoke_user`` revoke the ACTIVE tokens and return how many.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mlsmith.core.domain import (
    ApiKey,
    AuthMode,
    DataSource,
    Deployment,
    Experiment,
    Membership,
    Project,
    RefreshStatus,
    RefreshToken,
    Report,
    ReportStatus,
    Role,
    Run,
    RunStatus,
    User,
)
from mlsmith.core.errors import AlreadyExists, InvalidInput, NotFound
from mlsmith.core.ports.db import MetadataStore
from mlsmith.core.testing.contracts.db import NESTED, run_in_threads

T0 = datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
# Not valid UTF-8, with NUL bytes: only a real binary column round-trips it.
CIPHERTEXT = b"\x00\xff\xfe gAAAAA\x80\x00" + bytes(range(256))


# A made-up argon2 hash: fixture data, not a credential.
PW_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class IdentityCatalogStoreContract:
    __test__ = False

    # -- helpers -------------------------------------------------------------------------------

    def _add(self, store: MetadataStore, repo: str, *entities: Any) -> None:
        with store.unit_of_work() as uow:
            for entity in entities:
                getattr(uow, repo).add(entity)

    def _user(self, store: MetadataStore, email: str = "ada@example.com", **kw: Any) -> User:
        user = User(email=email, password_hash=PW_HASH, **kw)
        self._add(store, "users", user)
        return user

    def _token(self, store: MetadataStore, user_id: str, family_id: str, **kw: Any) -> RefreshToken:
        token = RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=kw.pop("token_hash", None) or secrets.token_hex(32),
            expires_at=_at(60),
            family_expires_at=_at(60 * 24),
            **kw,
        )
        self._add(store, "refresh_tokens", token)
        return token

    def _key(self, store: MetadataStore, user_id: str, n: int, **kw: Any) -> ApiKey:
        key = ApiKey(
            user_id=user_id,
            workspace_id=kw.pop("workspace_id", "ws_1"),
            name=f"key {n}",
            key_id=f"mls_{n:08x}",
            secret_hash=f"{n:064x}",
            **kw,
        )
        self._add(store, "api_keys", key)
        return key

    # -- users ---------------------------------------------------------------------------------

    def test_user_round_trips_by_id_and_by_email_in_any_case(self, store: MetadataStore) -> None:
        user = User(
            email="Ada.Lovelace@Example.COM",
            password_hash=PW_HASH,
            display_name="Ada ✓",
            is_admin=True,
            disabled=False,
            token_version=3,
            last_login_at=datetime(2024, 1, 1, 14, 0, 0, 500, tzinfo=PLUS_TWO),
        )
        self._add(store, "users", user)
        expected = dataclasses.replace(user, email="ada.lovelace@example.com")
        with store.unit_of_work() as uow:
            got = uow.users.get(user.id)
            assert got == expected
            assert uow.users.get_by_email("ADA.LOVELACE@example.com") == expected
            assert uow.users.get_by_email("ada.lovelace@example.com") == expected
        assert got.last_login_at is not None
        assert got.last_login_at.utcoffset() == timedelta(0)
        assert got.last_login_at.hour == 12
        assert got.created_at.utcoffset() == timedelta(0)

    def test_email_taken_in_another_case_raises_already_exists(self, store: MetadataStore) -> None:
        self._user(store, "ada@example.com")
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.users.add(User(email="ADA@Example.com", password_hash=PW_HASH))
        with store.unit_of_work() as uow:
            assert uow.users.count() == 1

    def test_duplicate_user_id_raises_already_exists(self, store: MetadataStore) -> None:
        user = self._user(store)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.users.add(dataclasses.replace(user, email="other@example.com"))

    def test_missing_user_raises_not_found(self, store: MetadataStore) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.users.get("usr_missing")
            with pytest.raises(NotFound):
                uow.users.get_by_email("nobody@example.com")
            with pytest.raises(NotFound):
                uow.users.save(User(email="ghost@example.com", password_hash=PW_HASH))
            assert uow.users.count() == 0

    def test_saved_user_overwrites_every_field(self, store: MetadataStore) -> None:
        user = self._user(store)
        user.password_hash = PW_HASH.replace("t=3", "t=4")
        user.display_name = "Countess"
        user.is_admin = True
        user.disabled = True
        user.token_version += 1
        user.last_login_at = _at(5)
        with store.unit_of_work() as uow:
            uow.users.save(user)
        with store.unit_of_work() as uow:
            assert uow.users.get(user.id) == user

    def test_saving_a_user_onto_a_taken_email_raises_already_exists(
        self, store: MetadataStore
    ) -> None:
        self._user(store, "ada@example.com")
        bob = self._user(store, "bob@example.com")
        with store.unit_of_work() as uow:
            bob.email = "Ada@example.com"
            with pytest.raises(AlreadyExists):
                uow.users.save(bob)
            # the unit of work stays usable after the failed statement
            uow.users.add(User(email="carol@example.com", password_hash=PW_HASH))
        with store.unit_of_work() as uow:
            assert uow.users.get(bob.id).email == "bob@example.com"
            assert uow.users.count() == 3

    def test_users_list_oldest_first_with_pages_and_count(self, store: MetadataStore) -> None:
        users = [
            User(email=f"u{i}@example.com", password_hash=PW_HASH, created_at=_at(i))
            for i in (2, 0, 1)
        ]
        self._add(store, "users", *users)
        with store.unit_of_work() as uow:
            assert [u.email for u in uow.users.list()] == [f"u{i}@example.com" for i in (0, 1, 2)]
            assert [u.email for u in uow.users.list(limit=1, offset=1)] == ["u1@example.com"]
            assert uow.users.list(offset=3) == []
            assert uow.users.count() == 3

    # -- memberships ---------------------------------------------------------------------------

    def test_membership_round_trips_with_its_role_as_an_enum(self, store: MetadataStore) -> None:
        m = Membership(workspace_id="ws_1", user_id="usr_1", role=Role.MEMBER, created_at=_at(1))
        self._add(store, "memberships", m)
        with store.unit_of_work() as uow:
            got = uow.memberships.get("ws_1", "usr_1")
        assert got == m
        assert got.role is Role.MEMBER

    def test_duplicate_membership_raises_already_exists(self, store: MetadataStore) -> None:
        self._add(store, "memberships", Membership("ws_1", "usr_1", Role.VIEWER))
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.memberships.add(Membership("ws_1", "usr_1", Role.ADMIN))
        with store.unit_of_work() as uow:
            assert uow.memberships.get("ws_1", "usr_1").role is Role.VIEWER

    def test_memberships_list_per_workspace_and_per_user_oldest_first(
        self, store: MetadataStore
    ) -> None:
        self._add(
            store,
            "memberships",
            Membership("ws_1", "usr_b", Role.ADMIN, created_at=_at(2)),
            Membership("ws_1", "usr_a", Role.VIEWER, created_at=_at(1)),
            Membership("ws_2", "usr_a", Role.MEMBER, created_at=_at(0)),
        )
        with store.unit_of_work() as uow:
            in_ws1 = uow.memberships.list_for_workspace("ws_1")
            of_a = uow.memberships.list_for_user("usr_a")
            assert uow.memberships.list_for_workspace("ws_none") == []
        assert [(m.user_id, m.role) for m in in_ws1] == [
            ("usr_a", Role.VIEWER),
            ("usr_b", Role.ADMIN),
        ]
        assert [(m.workspace_id, m.role) for m in of_a] == [
            ("ws_2", Role.MEMBER),
            ("ws_1", Role.VIEWER),
        ]
        assert all(isinstance(m.role, Role) for m in in_ws1 + of_a)

    def test_set_role_changes_only_that_membership(self, store: MetadataStore) -> None:
        self._add(
            store,
            "memberships",
            Membership("ws_1", "usr_1", Role.VIEWER),
            Membership("ws_2", "usr_1", Role.VIEWER),
        )
        with store.unit_of_work() as uow:
            uow.memberships.set_role("ws_1", "usr_1", "admin")
        with store.unit_of_work() as uow:
            assert uow.memberships.get("ws_1", "usr_1").role is Role.ADMIN
            assert uow.memberships.get("ws_2", "usr_1").role is Role.VIEWER
            with pytest.raises(InvalidInput):
                uow.memberships.set_role("ws_1", "usr_1", "owner")
            assert uow.memberships.get("ws_1", "usr_1").role is Role.ADMIN

    def test_removed_membership_is_gone(self, store: MetadataStore) -> None:
        self._add(store, "memberships", Membership("ws_1", "usr_1", Role.MEMBER))
        with store.unit_of_work() as uow:
            uow.memberships.remove("ws_1", "usr_1")
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.memberships.get("ws_1", "usr_1")
            assert uow.memberships.list_for_user("usr_1") == []

    def test_missing_membership_raises_not_found(self, store: MetadataStore) -> None:
        self._add(store, "memberships", Membership("ws_1", "usr_1", Role.MEMBER))
        with store.unit_of_work() as uow:
            for call in (
                lambda: uow.memberships.get("ws_1", "usr_2"),
                lambda: uow.memberships.get("ws_2", "usr_1"),
                lambda: uow.memberships.set_role("ws_2", "usr_1", "admin"),
                lambda: uow.memberships.remove("ws_1", "usr_2"),
            ):
                with pytest.raises(NotFound):
                    call()

    # -- API keys ------------------------------------------------------------------------------

    def test_api_key_round_trips_by_key_id_and_by_hash(self, store: MetadataStore) -> None:
        key = self._key(
            store,
            "usr_1",
            1,
            workspace_id=None,
            scopes=["runs:read", "models:predict"],
            expires_at=datetime(2030, 6, 1, 2, 0, tzinfo=PLUS_TWO),
        )
        with store.unit_of_work() as uow:
            by_id = uow.api_keys.get(key.key_id)
            by_hash = uow.api_keys.get_by_hash(key.secret_hash)
        assert by_id == key
        assert by_hash == key
        assert by_id.workspace_id is None
        assert by_id.scopes == ["runs:read", "models:predict"]
        assert by_id.expires_at is not None and by_id.expires_at.utcoffset() == timedelta(0)

    def test_duplicate_api_key_id_or_hash_raises_already_exists(self, store: MetadataStore) -> None:
        key = self._key(store, "usr_1", 1)
        clashes = [
            dataclasses.replace(key, id="key_other", secret_hash="f" * 64),  # same key_id
            dataclasses.replace(key, id="key_other", key_id="mls_other"),  # same secret hash
            dataclasses.replace(key, key_id="mls_other", secret_hash="f" * 64),  # same id
        ]
        for clash in clashes:
            with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
                uow.api_keys.add(clash)
        with store.unit_of_work() as uow:
            assert [k.id for k in uow.api_keys.list_for_user("usr_1")] == [key.id]

    def test_missing_api_key_raises_not_found(self, store: MetadataStore) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.api_keys.get("mls_missing")
            with pytest.raises(NotFound):
                uow.api_keys.get_by_hash("0" * 64)
            with pytest.raises(NotFound):
                uow.api_keys.save(ApiKey("usr_1", None, "k", "mls_x", "1" * 64))

    def test_saved_api_key_records_use_and_revocation(self, store: MetadataStore) -> None:
        key = self._key(store, "usr_1", 1)
        key.last_used_at = _at(10)
        key.revoked_at = _at(20)
        key.name = "renamed"
        with store.unit_of_work() as uow:
            uow.api_keys.save(key)
        with store.unit_of_work() as uow:
            assert uow.api_keys.get(key.key_id) == key

    def test_api_keys_list_per_user_oldest_first(self, store: MetadataStore) -> None:
        newer = self._key(store, "usr_1", 1, created_at=_at(5))
        older = self._key(store, "usr_1", 2, created_at=_at(1))
        self._key(store, "usr_2", 3)
        with store.unit_of_work() as uow:
            assert [k.id for k in uow.api_keys.list_for_user("usr_1")] == [older.id, newer.id]
            assert uow.api_keys.list_for_user("usr_none") == []

    # -- refresh tokens ------------------------------------------------------------------------

    def test_refresh_token_round_trips_by_hash(self, store: MetadataStore) -> None:
        token = self._token(store, "usr_1", "fam_1", token_hash="a" * 64)
        with store.unit_of_work() as uow:
            got = uow.refresh_tokens.get_by_hash("a" * 64)
            with pytest.raises(NotFound):
                uow.refresh_tokens.get_by_hash("b" * 64)
        assert got == token
        assert got.status is RefreshStatus.ACTIVE
        assert got.expires_at == _at(60)
        assert got.family_expires_at.utcoffset() == timedelta(0)

    def test_duplicate_refresh_token_hash_raises_already_exists(self, store: MetadataStore) -> None:
        self._token(store, "usr_1", "fam_1", token_hash="a" * 64)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.refresh_tokens.add(RefreshToken("usr_2", "fam_2", "a" * 64, _at(1), _at(2)))

    def test_mark_is_a_compare_and_set_on_status(self, store: MetadataStore) -> None:
        token = self._token(store, "usr_1", "fam_1")
        with store.unit_of_work() as uow:
            first = uow.refresh_tokens.mark(token.id, RefreshStatus.ACTIVE, RefreshStatus.ROTATED)
        with store.unit_of_work() as uow:
            second = uow.refresh_tokens.mark(token.id, RefreshStatus.ACTIVE, RefreshStatus.ROTATED)
            got = uow.refresh_tokens.get_by_hash(token.token_hash)
        assert (first, second) == (True, False)
        assert got.status is RefreshStatus.ROTATED
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.refresh_tokens.mark("rt_missing", RefreshStatus.ACTIVE, RefreshStatus.ROTATED)

    def test_concurrent_rotations_of_one_token_have_exactly_one_winner(
        self, store: MetadataStore
    ) -> None:
        token = self._token(store, "usr_1", "fam_1")

        def rotate(i: int) -> bool:
            with store.unit_of_work() as uow:
                return uow.refresh_tokens.mark(
                    token.id, RefreshStatus.ACTIVE, RefreshStatus.ROTATED
                )

        results = run_in_threads(8, rotate)
        assert results.count(True) == 1
        with store.unit_of_work() as uow:
            assert uow.refresh_tokens.get_by_hash(token.token_hash).status is RefreshStatus.ROTATED

    def test_revoke_family_revokes_the_active_tokens_of_that_family_only(
        self, store: MetadataStore
    ) -> None:
        rotated = self._token(store, "usr_1", "fam_1")
        with store.unit_of_work() as uow:
            uow.refresh_tokens.mark(rotated.id, RefreshStatus.ACTIVE, RefreshStatus.ROTATED)
        live = [self._token(store, "usr_1", "fam_1") for _ in range(2)]
        other = self._token(store, "usr_1", "fam_2")
        with store.unit_of_work() as uow:
            assert uow.refresh_tokens.revoke_family("fam_1") == 2
        with store.unit_of_work() as uow:
            assert uow.refresh_tokens.revoke_family("fam_1") == 0
            assert uow.refresh_tokens.revoke_family("fam_none") == 0
            status = {
                t.id: uow.refresh_tokens.get_by_hash(t.token_hash).status
                for t in [rotated, *live, other]
            }
        assert status == {
            rotated.id: RefreshStatus.ROTATED,
            live[0].id: RefreshStatus.REVOKED,
            live[1].id: RefreshStatus.REVOKED,
            other.id: RefreshStatus.ACTIVE,
        }

    def test_revoke_user_revokes_every_family_of_that_user_only(self, store: MetadataStore) -> None:
        mine = [self._token(store, "usr_1", f"fam_{i}") for i in range(3)]
        theirs = self._token(store, "usr_2", "fam_9")
        with store.unit_of_work() as uow:
            assert uow.refresh_tokens.revoke_user("usr_1") == 3
        with store.unit_of_work() as uow:
            assert uow.refresh_tokens.revoke_user("usr_1") == 0
            for t in mine:
                assert uow.refresh_tokens.get_by_hash(t.token_hash).status is RefreshStatus.REVOKED
            got = uow.refresh_tokens.get_by_hash(theirs.token_hash)
            assert got.status is RefreshStatus.ACTIVE

    # -- projects ------------------------------------------------------------------------------

    def test_project_round_trips_and_saves(self, store: MetadataStore) -> None:
        p = Project(workspace_id="ws_1", name="churn", description="multi\nline ✓")
        self._add(store, "projects", p)
        with store.unit_of_work() as uow:
            assert uow.projects.get(p.id) == p
        p.name, p.description = "churn-v2", ""
        with store.unit_of_work() as uow:
            uow.projects.save(p)
        with store.unit_of_work() as uow:
            assert uow.projects.get(p.id) == p

    def test_project_names_are_unique_per_workspace(self, store: MetadataStore) -> None:
        first = Project(workspace_id="ws_1", name="churn")
        self._add(store, "projects", first, Project(workspace_id="ws_2", name="churn"))
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.projects.add(Project(workspace_id="ws_1", name="churn"))
        second = Project(workspace_id="ws_1", name="fraud")
        self._add(store, "projects", second)
        second.name = "churn"
        with store.unit_of_work() as uow:
            with pytest.raises(AlreadyExists):
                uow.projects.save(second)
            uow.projects.add(Project(workspace_id="ws_1", name="ltv"))  # still usable
        with store.unit_of_work() as uow:
            names = sorted(p.name for p in uow.projects.list("ws_1"))
        assert names == ["churn", "fraud", "ltv"]

    def test_projects_list_per_workspace_newest_first_with_pages(
        self, store: MetadataStore
    ) -> None:
        ps = [Project(workspace_id="ws_1", name=f"p{i}", created_at=_at(i)) for i in (1, 3, 2)]
        self._add(store, "projects", *ps, Project(workspace_id="ws_2", name="elsewhere"))
        with store.unit_of_work() as uow:
            assert [p.name for p in uow.projects.list("ws_1")] == ["p3", "p2", "p1"]
            assert [p.name for p in uow.projects.list("ws_1", limit=1, offset=1)] == ["p2"]
            assert uow.projects.list("ws_none") == []

    def test_deleted_or_missing_project_raises_not_found(self, store: MetadataStore) -> None:
        p = Project(workspace_id="ws_1", name="churn")
        self._add(store, "projects", p)
        with store.unit_of_work() as uow:
            uow.projects.delete(p.id)
        with store.unit_of_work() as uow:
            for call in (
                lambda: uow.projects.get(p.id),
                lambda: uow.projects.delete(p.id),
                lambda: uow.projects.save(p),
            ):
                with pytest.raises(NotFound):
                    call()

    # -- experiments ---------------------------------------------------------------------------

    def test_experiment_round_trips_its_json_settings(self, store: MetadataStore) -> None:
        e = Experiment(
            "ws_1", "prj_1", "baseline", target="churned", task="binary", settings=NESTED
        )
        self._add(store, "experiments", e)
        with store.unit_of_work() as uow:
            got = uow.experiments.get(e.id)
        assert got == e
        assert got.settings == NESTED
        got.settings = {"metric": "f1", "folds": [1, 2]}
        got.name = "tuned"
        with store.unit_of_work() as uow:
            uow.experiments.save(got)
        with store.unit_of_work() as uow:
            assert uow.experiments.get(e.id) == got

    def test_experiment_names_are_unique_per_project(self, store: MetadataStore) -> None:
        self._add(
            store,
            "experiments",
            Experiment("ws_1", "prj_1", "baseline", target="y"),
            Experiment("ws_1", "prj_2", "baseline", target="y"),
        )
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.experiments.add(Experiment("ws_1", "prj_1", "baseline", target="z"))
        other = Experiment("ws_1", "prj_1", "other", target="y")
        self._add(store, "experiments", other)
        other.name = "baseline"
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.experiments.save(other)

    def test_experiments_list_per_project_newest_first_with_pages(
        self, store: MetadataStore
    ) -> None:
        es = [Experiment("ws_1", "prj_1", f"e{i}", "y", created_at=_at(i)) for i in (2, 1, 3)]
        self._add(store, "experiments", *es, Experiment("ws_1", "prj_2", "x", "y"))
        with store.unit_of_work() as uow:
            assert [e.name for e in uow.experiments.list("prj_1")] == ["e3", "e2", "e1"]
            assert [e.name for e in uow.experiments.list("prj_1", limit=2, offset=1)] == [
                "e2",
                "e1",
            ]

    def test_deleted_or_missing_experiment_raises_not_found(self, store: MetadataStore) -> None:
        e = Experiment("ws_1", "prj_1", "baseline", target="y")
        self._add(store, "experiments", e)
        with store.unit_of_work() as uow:
            uow.experiments.delete(e.id)
        with store.unit_of_work() as uow:
            for call in (
                lambda: uow.experiments.get(e.id),
                lambda: uow.experiments.delete(e.id),
                lambda: uow.experiments.save(e),
            ):
                with pytest.raises(NotFound):
                    call()

    # -- data sources --------------------------------------------------------------------------

    def test_data_source_round_trips_config_and_ciphertext_bytes(
        self, store: MetadataStore
    ) -> None:
        src = DataSource(
            "ws_1", "warehouse", "postgres", config=NESTED, secret_ciphertext=CIPHERTEXT
        )
        self._add(store, "data_sources", src)
        with store.unit_of_work() as uow:
            got = uow.data_sources.get(src.id)
        assert got == src
        assert type(got.secret_ciphertext) is bytes
        assert got.secret_ciphertext == CIPHERTEXT
        assert got.config == NESTED

    def test_data_source_names_are_unique_per_workspace(self, store: MetadataStore) -> None:
        self._add(
            store,
            "data_sources",
            DataSource("ws_1", "lake", "s3", {"bucket": "a"}, b"x"),
            DataSource("ws_2", "lake", "s3", {"bucket": "b"}, b"y"),
        )
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.data_sources.add(DataSource("ws_1", "lake", "postgres", {}, b"z"))

    def test_data_sources_list_per_workspace_by_name(self, store: MetadataStore) -> None:
        self._add(
            store,
            "data_sources",
            *(DataSource("ws_1", n, "s3", {}, b"") for n in ("lake", "archive", "warehouse")),
            DataSource("ws_2", "other", "s3", {}, b""),
        )
        with store.unit_of_work() as uow:
            names = [s.name for s in uow.data_sources.list("ws_1")]
        assert names == ["archive", "lake", "warehouse"]

    def test_deleted_or_missing_data_source_raises_not_found(self, store: MetadataStore) -> None:
        src = DataSource("ws_1", "lake", "s3", {}, b"x")
        self._add(store, "data_sources", src)
        with store.unit_of_work() as uow:
            uow.data_sources.delete(src.id)
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.data_sources.get(src.id)
            with pytest.raises(NotFound):
                uow.data_sources.delete(src.id)
            assert uow.data_sources.list("ws_1") == []

    # -- deployments ---------------------------------------------------------------------------

    def test_deployment_round_trips_by_id_and_slug(self, store: MetadataStore) -> None:
        d = Deployment(
            "ws_1", "churn-prod", "mdl_1", alias="prod", auth_mode=AuthMode.API_KEY, created_by="u"
        )
        self._add(store, "deployments", d)
        with store.unit_of_work() as uow:
            by_id = uow.deployments.get(d.id)
            by_slug = uow.deployments.get_by_slug("churn-prod")
        assert by_id == d
        assert by_slug == d
        assert by_id.auth_mode is AuthMode.API_KEY
        assert (by_id.version, by_id.alias) == (None, "prod")

    def test_deployment_slugs_are_globally_unique(self, store: MetadataStore) -> None:
        self._add(store, "deployments", Deployment("ws_1", "churn", "mdl_1", version=1))
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.deployments.add(Deployment("ws_2", "churn", "mdl_9", version=2))
        other = Deployment("ws_2", "fraud", "mdl_9", version=2)
        self._add(store, "deployments", other)
        other.slug = "churn"
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.deployments.save(other)

    def test_saved_deployment_repoints_and_changes_auth(self, store: MetadataStore) -> None:
        d = Deployment("ws_1", "churn", "mdl_1", version=1)
        self._add(store, "deployments", d)
        d.version, d.alias, d.auth_mode = None, "champion", AuthMode.PUBLIC
        with store.unit_of_work() as uow:
            uow.deployments.save(d)
        with store.unit_of_work() as uow:
            got = uow.deployments.get_by_slug("churn")
        assert got == d
        assert got.auth_mode is AuthMode.PUBLIC

    def test_deployments_list_per_workspace_by_slug(self, store: MetadataStore) -> None:
        self._add(
            store,
            "deployments",
            *(Deployment("ws_1", s, "mdl_1", version=1) for s in ("zeta", "alpha", "mid")),
            Deployment("ws_2", "other", "mdl_2", version=1),
        )
        with store.unit_of_work() as uow:
            assert [d.slug for d in uow.deployments.list("ws_1")] == ["alpha", "mid", "zeta"]

    def test_deleted_or_missing_deployment_raises_not_found(self, store: MetadataStore) -> None:
        d = Deployment("ws_1", "churn", "mdl_1", version=1)
        self._add(store, "deployments", d)
        with store.unit_of_work() as uow:
            uow.deployments.delete(d.id)
        with store.unit_of_work() as uow:
            for call in (
                lambda: uow.deployments.get(d.id),
                lambda: uow.deployments.get_by_slug("churn"),
                lambda: uow.deployments.delete(d.id),
                lambda: uow.deployments.save(d),
            ):
                with pytest.raises(NotFound):
                    call()
        # the slug is free again
        self._add(store, "deployments", Deployment("ws_2", "churn", "mdl_2", version=1))

    # -- reports -------------------------------------------------------------------------------

    def test_report_round_trips_and_saves_its_result(self, store: MetadataStore) -> None:
        r = Report("ws_1", "ds_1", target="y")
        self._add(store, "reports", r)
        with store.unit_of_work() as uow:
            got = uow.reports.get(r.id)
        assert got == r
        assert got.status is ReportStatus.QUEUED
        got.status = ReportStatus.SUCCEEDED
        got.result = NESTED
        got.html_key = "reports/rep_1.html"
        got.html_sha256 = "c" * 64
        got.finished_at = datetime(2024, 1, 1, 14, 0, tzinfo=PLUS_TWO)
        with store.unit_of_work() as uow:
            uow.reports.save(got)
        with store.unit_of_work() as uow:
            again = uow.reports.get(r.id)
        assert again == got
        assert again.status is ReportStatus.SUCCEEDED
        assert again.result == NESTED
        assert again.finished_at is not None and again.finished_at.utcoffset() == timedelta(0)

    def test_reports_list_per_dataset_newest_first(self, store: MetadataStore) -> None:
        rs = [Report("ws_1", "ds_1", created_at=_at(i)) for i in (1, 3, 2)]
        self._add(store, "reports", *rs, Report("ws_1", "ds_2"))
        with store.unit_of_work() as uow:
            got = uow.reports.list("ds_1")
        assert [r.created_at for r in got] == [_at(3), _at(2), _at(1)]

    def test_duplicate_or_missing_report(self, store: MetadataStore) -> None:
        r = Report("ws_1", "ds_1")
        self._add(store, "reports", r)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.reports.add(r)
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.reports.get("rep_missing")
            with pytest.raises(NotFound):
                uow.reports.save(Report("ws_1", "ds_1"))

    # -- across repos --------------------------------------------------------------------------

    def test_new_repos_return_copies(self, store: MetadataStore) -> None:
        user = self._user(store)
        key = self._key(store, user.id, 1, scopes=["a"])
        e = Experiment("ws_1", "prj_1", "e", "y", settings={"folds": 3})
        src = DataSource("ws_1", "lake", "s3", {"bucket": "b"}, b"secret")
        rep = Report("ws_1", "ds_1", result={"rows": 1})
        self._add(store, "experiments", e)
        self._add(store, "data_sources", src)
        self._add(store, "reports", rep)
        # the objects given to add() are not shared with the store ...
        e.settings["folds"] = 99
        src.config["bucket"] = "changed"
        with store.unit_of_work() as uow:
            # ... nor are the objects handed out
            uow.users.get(user.id).display_name = "mutated"
            uow.api_keys.get(key.key_id).scopes.append("admin")
            uow.experiments.get(e.id).settings["folds"] = 7
            uow.data_sources.get(src.id).config["bucket"] = "x"
            uow.reports.get(rep.id).result["rows"] = 2
        with store.unit_of_work() as uow:
            assert uow.users.get(user.id).display_name == ""
            assert uow.api_keys.get(key.key_id).scopes == ["a"]
            assert uow.experiments.get(e.id).settings == {"folds": 3}
            assert uow.data_sources.get(src.id).config == {"bucket": "b"}
            assert uow.reports.get(rep.id).result == {"rows": 1}

    def test_exception_rolls_back_identity_and_catalog_writes(self, store: MetadataStore) -> None:
        user = self._user(store)
        token = self._token(store, user.id, "fam_1")

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.unit_of_work() as uow:
            uow.users.add(User(email="new@example.com", password_hash=PW_HASH))
            uow.memberships.add(Membership("ws_1", user.id, Role.ADMIN))
            uow.refresh_tokens.revoke_user(user.id)
            uow.projects.add(Project("ws_1", "p"))
            raise Boom
        with store.unit_of_work() as uow:
            assert uow.users.count() == 1
            assert uow.memberships.list_for_user(user.id) == []
            assert uow.refresh_tokens.get_by_hash(token.token_hash).status is RefreshStatus.ACTIVE
            assert uow.projects.list("ws_1") == []

    # -- active runs ---------------------------------------------------------------------------

    def _runs(
        self, store: MetadataStore, *specs: tuple[str, str | None, RunStatus, int]
    ) -> list[Run]:
        runs = [
            Run(
                workspace_id=ws,
                dataset_id="ds_1",
                target="y",
                created_by=user,
                status=status,
                created_at=_at(minute),
            )
            for ws, user, status, minute in specs
        ]
        self._add(store, "runs", *runs)
        return runs

    def test_run_keeps_its_experiment_and_creator(self, store: MetadataStore) -> None:
        run = Run(
            workspace_id="ws_1",
            dataset_id="ds_1",
            target="y",
            experiment_id="exp_1",
            created_by="u",
        )
        self._add(store, "runs", run)
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
            assert (got.experiment_id, got.created_by) == ("exp_1", "u")
            got.experiment_id, got.created_by = None, None
            uow.runs.save(got)
        with store.unit_of_work() as uow:
            assert uow.runs.get(run.id) == got

    def test_count_active_counts_queued_and_running_runs_of_that_user(
        self, store: MetadataStore
    ) -> None:
        S = RunStatus
        self._runs(
            store,
            ("ws_1", "usr_1", S.QUEUED, 0),
            ("ws_2", "usr_1", S.RUNNING, 1),  # any workspace counts
            ("ws_1", "usr_1", S.SUCCEEDED, 2),
            ("ws_1", "usr_1", S.FAILED, 3),
            ("ws_1", "usr_1", S.CANCELLED, 4),
            ("ws_1", "usr_2", S.RUNNING, 5),
            ("ws_1", None, S.RUNNING, 6),
        )
        with store.unit_of_work() as uow:
            assert uow.runs.count_active(created_by="usr_1") == 2
            assert uow.runs.count_active(created_by="usr_2") == 1
            assert uow.runs.count_active(created_by="usr_none") == 0

    def test_count_active_follows_transitions(self, store: MetadataStore) -> None:
        (run,) = self._runs(store, ("ws_1", "usr_1", RunStatus.QUEUED, 0))
        with store.unit_of_work() as uow:
            uow.runs.transition(run.id, (RunStatus.QUEUED,), RunStatus.RUNNING)
            assert uow.runs.count_active(created_by="usr_1") == 1
            uow.runs.transition(run.id, (RunStatus.RUNNING,), RunStatus.SUCCEEDED)
            assert uow.runs.count_active(created_by="usr_1") == 0

    def test_list_active_returns_live_runs_of_every_workspace_oldest_first(
        self, store: MetadataStore
    ) -> None:
        S = RunStatus
        runs = self._runs(
            store,
            ("ws_1", "usr_1", S.RUNNING, 3),
            ("ws_2", None, S.QUEUED, 1),
            ("ws_1", "usr_2", S.SUCCEEDED, 0),
            ("ws_3", "usr_1", S.QUEUED, 2),
            ("ws_2", "usr_1", S.CANCELLED, 4),
        )
        with store.unit_of_work() as uow:
            active = uow.runs.list_active()
            first_two = uow.runs.list_active(limit=2)
        assert [r.id for r in active] == [runs[1].id, runs[3].id, runs[0].id]
        assert [r.id for r in first_two] == [runs[1].id, runs[3].id]
        assert active[2] == runs[0]
        assert all(r.status in (S.QUEUED, S.RUNNING) for r in active)
