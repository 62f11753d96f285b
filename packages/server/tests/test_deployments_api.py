"""Deployments over HTTP: TestClient on fake backends with a model trained by the real engine."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from mlsmith.core.domain import Membership, Role, User, Workspace
from mlsmith.core.services import (
    api_keys,
    datasets,
    identity,
    prediction,
    registry,
    runs,
    training,
)
from mlsmith.core.services.principals import authenticate
from mlsmith.core.services.scope import Scope
from mlsmith.core.services.worker import Worker
from mlsmith.core.settings import Settings

PASSWORD = "a-long-test-password"
API = "/api/v1"


@dataclass
class Env:
    client: TestClient
    backends: object
    ws: str  # workspace A (owns the model)
    other_ws: str  # workspace B
    owner: dict  # headers: admin of A (token)
    viewer: dict  # headers: viewer of A (token)
    key: dict  # headers: API key of the owner bound to A
    stranger: dict  # headers: member of B only (token)
    stranger_key: dict  # headers: API key of the stranger
    rows: list[dict]


def _user(backends, email: str, ws: str, role: Role) -> User:
    user = User(email=email, password_hash=backends.auth.hash_password(PASSWORD))
    with backends.metadata.unit_of_work() as uow:
        uow.users.add(user)
        uow.memberships.add(Membership(ws, user.id, role))
    return user


def _token(backends, email: str) -> dict:
    pair = identity.login(backends, email=email, password=PASSWORD, client="127.0.0.1")
    return {"Authorization": f"Bearer {pair.access_token}"}


def _key(backends, headers: dict, workspace_id: str) -> dict:
    principal = authenticate(backends, headers["Authorization"])
    _, plaintext = api_keys.create(backends, principal, name="k", workspace_id=workspace_id)
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture(scope="module")
def env():
    from sklearn.datasets import load_breast_cancer

    from mlsmith.core.testing.fakes.backends import fake_backends
    from mlsmith.server.app import create_app

    prediction.clear_cache()
    backends = fake_backends(Settings(workers=2, lease_s=5.0, max_body_bytes=200_000))
    owner, ws = identity.bootstrap(
        backends, email="owner@example.com", password=PASSWORD, workspace_name="alpha"
    )
    other = Workspace(name="beta")
    with backends.metadata.unit_of_work() as uow:
        uow.workspaces.add(other)
    _user(backends, "viewer@example.com", ws.id, Role.VIEWER)
    _user(backends, "stranger@example.com", other.id, Role.ADMIN)

    df = load_breast_cancer(as_frame=True).frame
    scope = Scope(ws.id, owner.id, Role.ADMIN)
    ds = datasets.ingest_frame(backends, scope, df, name="cancer.csv")
    run = training.start_run(
        backends, scope, ds.id, "target", folds=3, time_budget_s=5,
        candidates=["logistic_regression"],
    )  # fmt: skip
    worker = Worker(backends, poll_s=0.05)
    worker.run_until(lambda: runs.get(backends, scope, run.id).status.terminal and not worker.busy)
    registry.promote(backends, scope, run.id, "cancer", alias="champion")
    registry.promote(backends, scope, run.id, "cancer")  # v2, same run

    app = create_app(backends, start_worker=False)
    with TestClient(app) as client:
        owner_h = _token(backends, "owner@example.com")
        stranger_h = _token(backends, "stranger@example.com")
        yield Env(
            client=client,
            backends=backends,
            ws=ws.id,
            other_ws=other.id,
            owner=owner_h,
            viewer=_token(backends, "viewer@example.com"),
            key=_key(backends, owner_h, ws.id),
            stranger=stranger_h,
            stranger_key=_key(backends, stranger_h, other.id),
            rows=df.drop(columns="target").head(5).to_dict(orient="records"),
        )
    backends.close()


@pytest.fixture(autouse=True)
def _clean(env):
    yield
    for d in env.client.get(f"{API}/workspaces/{env.ws}/deployments", headers=env.owner).json():
        env.client.delete(f"{API}/deployments/{d['slug']}", headers=env.owner)


def _deploy(env: Env, slug: str, **body) -> dict:
    r = env.client.post(
        f"{API}/workspaces/{env.ws}/deployments",
        json={"slug": slug, "model": "cancer", **body},
        headers=env.owner,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _predict(env: Env, slug: str, auth: dict | None = None, **kw):
    kw.setdefault("json", {"rows": env.rows})
    headers = {**(auth or {}), **kw.pop("headers", {})}
    return env.client.post(f"{API}/deployments/{slug}/predict", headers=headers, **kw)


def test_create_get_list_follow_the_champion_by_default(env):
    made = _deploy(env, "cancer-prod")
    assert made["alias"] == "champion" and made["version"] is None
    assert made["model"] == "cancer" and made["auth_mode"] == "workspace"
    assert made["predict_url"] == f"{API}/deployments/cancer-prod/predict"
    got = env.client.get(f"{API}/deployments/cancer-prod", headers=env.viewer).json()
    assert got == made
    listed = env.client.get(f"{API}/workspaces/{env.ws}/deployments", headers=env.viewer).json()
    assert [d["slug"] for d in listed] == ["cancer-prod"]


@pytest.mark.parametrize("slug", ["ab", "Bad", "-lead", "trail-", "under_score", "x" * 65])
def test_bad_slugs_are_422(env, slug):
    r = env.client.post(
        f"{API}/workspaces/{env.ws}/deployments",
        json={"slug": slug, "model": "cancer"},
        headers=env.owner,
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_a_taken_slug_is_409_and_viewers_cannot_deploy(env):
    _deploy(env, "taken-slug")
    body = {"slug": "taken-slug", "model": "cancer", "version": 1}
    r = env.client.post(f"{API}/workspaces/{env.ws}/deployments", json=body, headers=env.owner)
    assert r.status_code == 409
    body["slug"] = "by-viewer"
    r = env.client.post(f"{API}/workspaces/{env.ws}/deployments", json=body, headers=env.viewer)
    assert r.status_code == 403


def test_predict_json_returns_predictions_and_class_probabilities(env):
    _deploy(env, "json-pred")
    r = _predict(env, "json-pred", env.owner)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "cancer" and body["version"] == 1 and body["warnings"] == []
    assert len(body["predictions"]) == 5 and set(body["predictions"]) <= {0, 1}
    assert len(body["probabilities"]) == 5
    for pred, proba in zip(body["predictions"], body["probabilities"], strict=True):
        assert set(proba) == {"0", "1"} and abs(sum(proba.values()) - 1) < 1e-9
        assert max(proba, key=proba.get) == str(pred)
    bare = _predict(env, "json-pred", env.owner, json=env.rows)  # a bare list of rows
    assert bare.json()["predictions"] == body["predictions"]


def test_predict_csv_equals_predict_json(env):
    import pandas as pd

    _deploy(env, "csv-pred")
    csv = pd.DataFrame(env.rows).assign(extra="x").to_csv(index=False)
    ctype = {"Content-Type": "text/csv; charset=utf-8"}
    r = _predict(env, "csv-pred", env.owner, content=csv, json=None, headers=ctype)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == _predict(env, "csv-pred", env.owner).json()["predictions"]
    assert r.json()["warnings"] == ["ignored columns the model does not use: extra"]


def test_bad_bodies_are_413_415_422_and_400(env):
    _deploy(env, "bad-bodies", auth_mode="public")
    big = "a,b\n" + "1,2\n" * 60_000  # over the 200 kB cap of this app
    cases = [
        ({"content": big, "headers": {"Content-Type": "text/csv"}}, 413),
        ({"content": b"<x/>", "headers": {"Content-Type": "application/xml"}}, 415),
        ({"content": b"rows", "headers": {}}, 415),
        ({"json": {"rows": [{"mean radius": 1.0}]}}, 422),  # missing columns
        ({"json": {"rows": []}}, 422),
        ({"json": {"rows": [[1, 2]]}}, 422),
        ({"json": {"rows": [{"mean radius": {"x": 1}}]}}, 422),
        ({"json": "text"}, 422),
        ({"content": b"\xff\xfe\x00", "headers": {"Content-Type": "text/csv"}}, 422),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
    ]
    for kw, status in cases:
        kw.setdefault("json", None)
        r = _predict(env, "bad-bodies", None, **kw)
        assert r.status_code == status, (kw.get("headers"), r.status_code, r.text[:200])
        assert {"code", "message", "details"} <= set(r.json())
    r = _predict(env, "bad-bodies", None, json={"rows": [{"mean radius": 1.0}]})
    assert "missing feature columns" in r.json()["message"]


def test_public_mode_takes_anyone(env):
    _deploy(env, "open-one", auth_mode="public")
    assert _predict(env, "open-one").status_code == 200
    assert _predict(env, "open-one", env.stranger).status_code == 200


def test_workspace_mode_takes_members_by_token_or_key_and_hides_from_others(env):
    _deploy(env, "members-only")
    assert _predict(env, "members-only").status_code == 401
    assert _predict(env, "members-only", env.viewer).status_code == 200
    assert _predict(env, "members-only", env.key).status_code == 200
    assert _predict(env, "members-only", env.stranger).status_code == 404
    assert _predict(env, "members-only", env.stranger_key).status_code == 404
    bad = {"Authorization": "Bearer not-a-token"}
    assert _predict(env, "members-only", bad).status_code == 401


def test_api_key_mode_takes_only_keys_of_the_workspace(env):
    _deploy(env, "keys-only", auth_mode="api-key")
    assert _predict(env, "keys-only").status_code == 401
    assert _predict(env, "keys-only", env.key).status_code == 200
    assert _predict(env, "keys-only", env.owner).status_code == 403  # a member, not by key
    assert _predict(env, "keys-only", env.stranger_key).status_code == 404


def test_other_workspaces_get_404_for_every_route(env):
    _deploy(env, "hidden")
    h = env.stranger
    assert env.client.get(f"{API}/deployments/hidden", headers=h).status_code == 404
    assert env.client.get(f"{API}/deployments/hidden/stats", headers=h).status_code == 404
    r = env.client.patch(f"{API}/deployments/hidden", json={"version": 2}, headers=h)
    assert r.status_code == 404
    assert env.client.delete(f"{API}/deployments/hidden", headers=h).status_code == 404
    r = env.client.get(f"{API}/workspaces/{env.ws}/deployments", headers=h)
    assert r.status_code == 404
    missing = env.client.get(f"{API}/deployments/no-such-slug", headers=h).json()
    assert r.json()["code"] == missing["code"] == "not_found"


def test_moving_the_alias_re_points_predictions_to_the_new_version(env):
    _deploy(env, "follower")
    assert _predict(env, "follower", env.owner).json()["version"] == 1
    scope = Scope(env.ws)
    registry.set_alias(env.backends, scope, "cancer:2", "champion")
    try:
        assert _predict(env, "follower", env.owner).json()["version"] == 2
    finally:
        registry.set_alias(env.backends, scope, "cancer:1", "champion")
    assert _predict(env, "follower", env.owner).json()["version"] == 1


def test_patch_pins_a_version_and_changes_the_auth_mode(env):
    _deploy(env, "patched")
    r = env.client.patch(
        f"{API}/deployments/patched",
        json={"version": 2, "auth_mode": "public"},
        headers=env.owner,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["alias"], r.json()["auth_mode"]) == (2, None, "public")
    assert _predict(env, "patched").json()["version"] == 2  # public now, pinned at 2
    r = env.client.patch(f"{API}/deployments/patched", json={"version": 9}, headers=env.owner)
    assert r.status_code == 404
    r = env.client.patch(
        f"{API}/deployments/patched", json={"version": 1, "alias": "champion"}, headers=env.owner
    )
    assert r.status_code == 422
    r = env.client.patch(f"{API}/deployments/patched", json={"version": 1}, headers=env.viewer)
    assert r.status_code == 403


def test_delete_removes_the_endpoint(env):
    _deploy(env, "gone-soon", auth_mode="public")
    assert _predict(env, "gone-soon").status_code == 200
    assert env.client.delete(f"{API}/deployments/gone-soon", headers=env.owner).status_code == 204
    assert _predict(env, "gone-soon").status_code == 404


def test_stats_count_requests_errors_and_latency(env):
    _deploy(env, "counted", auth_mode="public")
    for _ in range(3):
        assert _predict(env, "counted").status_code == 200
    assert _predict(env, "counted", json={"rows": [{"mean radius": 1}]}).status_code == 422
    stats = env.client.get(f"{API}/deployments/counted/stats", headers=env.viewer).json()
    assert (stats["requests"], stats["errors"], stats["rows"]) == (4, 1, 15)
    assert (
        stats["latency_ms"]["p50"] > 0 and stats["latency_ms"]["p95"] >= stats["latency_ms"]["p50"]
    )
    assert stats["window"] == 4 and stats["last_request_at"]
    metrics = env.client.get("/metrics").text
    assert 'mlsmith_deployment_predictions_total{deployment="counted",outcome="ok"} 3.0' in metrics
    assert (
        'mlsmith_deployment_predictions_total{deployment="counted",outcome="error"} 1.0' in metrics
    )
