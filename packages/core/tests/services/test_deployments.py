"""Deployments on fake backends with a model trained by the real engine."""

from __future__ import annotations

import pandas as pd
import pytest

from mlsmith.core.domain import ApiKey, AuthMode, Membership, Model, Role, User, Workspace
from mlsmith.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from mlsmith.core.services import (
    datasets,
    deployment_stats,
    deployments,
    prediction,
    registry,
    runs,
    training,
)
from mlsmith.core.services.principals import Principal
from mlsmith.core.services.scope import Scope, default_scope
from mlsmith.core.services.worker import Worker


@pytest.fixture(scope="module")
def env():
    """One trained iris run promoted twice: v1 (champion) and v2."""
    from sklearn.datasets import load_iris

    from mlsmith.core.testing.fakes.backends import fake_backends

    prediction.clear_cache()
    backends = fake_backends()
    scope = default_scope(backends)
    df = load_iris(as_frame=True).frame
    df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    ds = datasets.ingest_frame(backends, scope, df, name="iris.csv")
    run = training.start_run(
        backends, scope, ds.id, "target", folds=3, time_budget_s=5,
        candidates=["logistic_regression"],
    )  # fmt: skip
    worker = Worker(backends, poll_s=0.05)
    worker.run_until(lambda: runs.get(backends, scope, run.id).status.terminal and not worker.busy)
    registry.promote(backends, scope, run.id, "iris", alias="champion")
    registry.promote(backends, scope, run.id, "iris")
    registry.promote(backends, scope, run.id, "plain")  # a model without a champion alias
    yield backends, scope, df.drop(columns="target")
    backends.close()


@pytest.fixture
def backends(env):
    return env[0]


@pytest.fixture
def scope(env):
    return env[1]


@pytest.fixture
def features(env) -> pd.DataFrame:
    return env[2]


@pytest.fixture(autouse=True)
def _clean(env):
    yield
    b, s, _ = env
    for d in deployments.list_deployments(b, s):
        deployments.delete(b, s, d.slug)


def _member(backends, workspace_id: str, role: Role = Role.MEMBER) -> User:
    user = User(email=f"{role.value}-{workspace_id}@example.com", password_hash="x")
    with backends.metadata.unit_of_work() as uow:
        uow.users.add(user)
        uow.memberships.add(Membership(workspace_id, user.id, role))
    return user


def _key(user: User, workspace_id: str | None) -> ApiKey:
    return ApiKey(user.id, workspace_id, "k", key_id="mls_test", secret_hash="h")


def test_default_target_is_the_champion_alias_else_the_latest_version_pinned(backends, scope):
    followed = deployments.create(backends, scope, slug="iris-prod", model_name="iris")
    assert (followed.alias, followed.version) == ("champion", None)
    pinned = deployments.create(backends, scope, slug="plain-prod", model_name="plain")
    assert (pinned.alias, pinned.version) == (None, 1)
    assert [d.slug for d in deployments.list_deployments(backends, scope)] == [
        "iris-prod",
        "plain-prod",
    ]


@pytest.mark.parametrize("slug", ["ab", "-abc", "abc-", "ABC", "a_bc", "a" * 65, "a.b.c", ""])
def test_slugs_outside_the_rule_are_refused(backends, scope, slug):
    with pytest.raises(InvalidInput, match="invalid slug"):
        deployments.create(backends, scope, slug=slug, model_name="iris")


def test_slugs_are_unique_across_workspaces(backends, scope):
    deployments.create(backends, scope, slug="taken", model_name="iris")
    with pytest.raises(Conflict):
        deployments.create(backends, scope, slug="taken", model_name="plain")
    other = Scope("ws_taken_other")
    model = Model(workspace_id=other.workspace_id, name="theirs")
    with backends.metadata.unit_of_work() as uow:
        uow.models.add(model)
        uow.models.add_version(model.id, "run_x", {})
    with pytest.raises(Conflict, match="slug 'taken' is taken"):
        deployments.create(backends, other, slug="taken", model_name="theirs")
    assert deployments.create(backends, other, slug="taken-2", model_name="theirs").version == 1
    deployments.delete(backends, other, "taken-2")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"version": 1, "alias": "champion"}, InvalidInput),
        ({"version": 9}, NotFound),
        ({"alias": "staging"}, NotFound),
        ({"model_name": "nope"}, NotFound),
        ({"auth_mode": "open"}, InvalidInput),
    ],
)
def test_the_target_must_be_one_thing_that_resolves_now(backends, scope, kwargs, error):
    args = {"slug": "bad-target", "model_name": "iris", **kwargs}
    with pytest.raises(error):
        deployments.create(backends, scope, **args)
    assert deployments.list_deployments(backends, scope) == []


def test_viewers_cannot_manage_deployments(backends, scope):
    viewer = Scope(scope.workspace_id, "usr_v", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        deployments.create(backends, viewer, slug="by-viewer", model_name="iris")


def test_deployments_of_another_workspace_are_not_found(backends, scope):
    deployments.create(backends, scope, slug="mine", model_name="iris")
    other = Scope("ws_other")
    for call in (
        lambda: deployments.get_by_slug(backends, other, "mine"),
        lambda: deployments.update(backends, other, "mine", version=1),
        lambda: deployments.delete(backends, other, "mine"),
    ):
        with pytest.raises(NotFound, match="deployment 'mine' not found"):
            call()
    assert deployments.list_deployments(backends, other) == []
    assert deployments.get_by_slug(backends, scope, "mine").alias == "champion"


def test_moving_the_alias_re_points_the_deployment_without_redeploying(backends, scope, features):
    dep = deployments.create(backends, scope, slug="follows", model_name="iris")
    _, _, v = deployments.predict(backends, dep, features.head(3))
    assert v.version == 1
    registry.set_alias(backends, scope, "iris:2", "champion")
    try:
        cached = deployments.lookup(backends, "follows")  # the cached row needs no change
        frame, warnings, v = deployments.predict(backends, cached, features.head(3))
        assert v.version == 2 and warnings == [] and len(frame) == 3
    finally:
        registry.set_alias(backends, scope, "iris:1", "champion")


def test_update_pins_a_version_then_follows_an_alias_again(backends, scope, features):
    deployments.create(backends, scope, slug="switch", model_name="iris")
    dep = deployments.update(backends, scope, "switch", version=2, auth_mode="public")
    assert (dep.version, dep.alias, dep.auth_mode) == (2, None, AuthMode.PUBLIC)
    looked_up = deployments.lookup(backends, "switch")  # update invalidated the cached row
    assert deployments.predict(backends, looked_up, features.head(1))[2].version == 2
    dep = deployments.update(backends, scope, "switch", alias="champion")
    assert (dep.version, dep.alias) == (None, "champion")
    with pytest.raises(NotFound):
        deployments.update(backends, scope, "switch", version=7)


def test_predict_matches_the_registry_prediction(backends, scope, features):
    dep = deployments.create(backends, scope, slug="same", model_name="iris")
    frame, _, _ = deployments.predict(backends, dep, features.iloc[10:20])
    expected, _, _ = prediction.predict(backends, scope, "iris@champion", features.iloc[10:20])
    pd.testing.assert_frame_equal(frame, expected)
    assert {"prediction", "proba_setosa"} <= set(frame.columns)


def test_missing_columns_fail_with_their_names(backends, scope, features):
    dep = deployments.create(backends, scope, slug="strict", model_name="iris")
    with pytest.raises(InvalidInput, match="missing feature columns: petal width"):
        deployments.predict(backends, dep, features.drop(columns="petal width (cm)"))


def test_deleted_deployments_are_gone_from_the_predict_path(backends, scope):
    deployments.create(backends, scope, slug="short-lived", model_name="iris")
    deployments.lookup(backends, "short-lived")
    deployments.delete(backends, scope, "short-lived")
    with pytest.raises(NotFound):
        deployments.lookup(backends, "short-lived")


class TestAuthorizeCall:
    @pytest.fixture
    def other_ws(self, backends) -> str:
        ws = Workspace(name=f"other-{id(self)}")
        with backends.metadata.unit_of_work() as uow:
            uow.workspaces.add(ws)
        return ws.id

    def _dep(self, backends, scope, mode: str):
        return deployments.create(backends, scope, slug=f"auth-{mode}", model_name="iris",
                                  auth_mode=mode)  # fmt: skip

    def test_public_needs_no_credentials(self, backends, scope):
        deployments.authorize_call(backends, self._dep(backends, scope, "public"), None)

    def test_workspace_mode_takes_members_by_token_or_key(self, backends, scope, other_ws):
        dep = self._dep(backends, scope, "workspace")
        with pytest.raises(Unauthenticated):
            deployments.authorize_call(backends, dep, None)
        member = _member(backends, scope.workspace_id, Role.VIEWER)
        deployments.authorize_call(backends, dep, Principal(member, "token"))
        key = _key(member, scope.workspace_id)
        deployments.authorize_call(backends, dep, Principal(member, "api_key", key))
        stranger = _member(backends, other_ws)
        with pytest.raises(NotFound, match="deployment 'auth-workspace' not found"):
            deployments.authorize_call(backends, dep, Principal(stranger, "token"))

    def test_api_key_mode_takes_only_a_key_valid_for_the_workspace(self, backends, scope, other_ws):
        dep = self._dep(backends, scope, "api-key")
        member = _member(backends, scope.workspace_id)
        deployments.authorize_call(
            backends, dep, Principal(member, "api_key", _key(member, scope.workspace_id))
        )
        deployments.authorize_call(backends, dep, Principal(member, "api_key", _key(member, None)))
        with pytest.raises(PermissionDenied):
            deployments.authorize_call(backends, dep, Principal(member, "token"))
        with pytest.raises(NotFound):  # the member's key bound to another workspace
            deployments.authorize_call(
                backends, dep, Principal(member, "api_key", _key(member, other_ws))
            )
        stranger = _member(backends, other_ws)
        with pytest.raises(NotFound):
            deployments.authorize_call(
                backends, dep, Principal(stranger, "api_key", _key(stranger, other_ws))
            )
        with pytest.raises(Unauthenticated):
            deployments.authorize_call(backends, dep, None)


class TestStats:
    def test_counters_and_percentiles(self):
        dep_id = "dep_stats_unit"
        for ms in range(1, 101):
            deployment_stats.record(dep_id, ms / 1000, ok=ms % 10 != 0, rows=2)
        snap = deployment_stats.snapshot(dep_id)
        assert (snap.requests, snap.errors, snap.rows) == (100, 10, 200)
        assert snap.latency_ms["p50"] == 50.0 and snap.latency_ms["p95"] == 95.0
        assert snap.latency_ms["max"] == 100.0 and snap.window == 100
        deployment_stats.forget(dep_id)
        assert deployment_stats.snapshot(dep_id).requests == 0

    def test_track_counts_an_exception_as_an_error_and_lets_it_through(self):
        dep_id = "dep_stats_track"
        with deployment_stats.track(dep_id) as call:
            call.rows = 5
        with pytest.raises(InvalidInput), deployment_stats.track(dep_id):
            raise InvalidInput("bad")
        snap = deployment_stats.snapshot(dep_id)
        assert (snap.requests, snap.errors, snap.rows) == (2, 1, 5)
        assert snap.latency_ms["p50"] is not None
        deployment_stats.forget(dep_id)

    def test_the_latency_window_is_bounded(self):
        dep_id = "dep_stats_window"
        for _ in range(deployment_stats.WINDOW + 10):
            deployment_stats.record(dep_id, 0.001, ok=True)
        snap = deployment_stats.snapshot(dep_id)
        assert snap.window == deployment_stats.WINDOW
        assert snap.requests == deployment_stats.WINDOW + 10
        deployment_stats.forget(dep_id)
