"""Model registry over HTTP: promote a succeeded run, list models and versions, move aliases, and
isolation between workspaces. The run is trained by driving the worker loop in the test."""

from __future__ import annotations

import io

import pytest

from mlsmith.core.services.worker import Worker
from mlsmith.server.testing import API, make_test_api

FAST = {"folds": 2, "time_budget_s": 30, "candidates": ["logistic_regression", "gaussian_nb"]}


def _iris_csv() -> bytes:
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    return df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def env():
    api = make_test_api()
    try:
        c = api.client
        out = api.bootstrap("alice@example.com")
        alice, ws = api.headers("alice@example.com"), out["workspace"]["id"]
        api.register("bob@example.com")
        bob = api.headers("bob@example.com")
        ws_b = c.post(f"{API}/workspaces", json={"name": "bravo"}, headers=bob).json()["id"]
        ds = c.post(
            f"{API}/workspaces/{ws}/datasets",
            files={"file": ("iris.csv", io.BytesIO(_iris_csv()), "text/csv")},
            headers=alice,
        ).json()
        prj = c.post(f"{API}/workspaces/{ws}/projects", json={"name": "p"}, headers=alice).json()
        exp = c.post(
            f"{API}/projects/{prj['id']}/experiments",
            json={"name": "e", "target": "target", "settings": FAST},
            headers=alice,
        ).json()
        runs = [
            c.post(
                f"{API}/experiments/{exp['id']}/runs", json={"dataset_id": ds["id"]}, headers=alice
            ).json()["id"]
            for _ in range(2)
        ]

        def done() -> bool:
            statuses = [c.get(f"{API}/runs/{r}", headers=alice).json()["status"] for r in runs]
            return all(st in ("succeeded", "failed", "cancelled") for st in statuses)

        worker = Worker(api.backends, poll_s=0.05)
        worker.run_until(lambda: done() and not worker.busy)
        yield {
            "api": api,
            "alice": alice,
            "ws": ws,
            "bob": bob,
            "ws_b": ws_b,
            "runs": runs,
            "dataset": ds,
            "queued_exp": exp["id"],
        }
    finally:
        api.client.__exit__(None, None, None)


def test_promote_creates_versions_with_lineage_and_aliases(env):
    c, h = env["api"].client, env["alice"]
    r1 = c.post(
        f"{API}/runs/{env['runs'][0]}/promote",
        json={"name": "iris", "alias": "champion"},
        headers=h,
    )
    assert r1.status_code == 201, r1.text
    v1 = r1.json()
    assert (v1["model"], v1["version"], v1["aliases"]) == ("iris", 1, ["champion"])
    assert v1["lineage"]["dataset_sha256"] == env["dataset"]["sha256"]
    v2 = c.post(f"{API}/runs/{env['runs'][1]}/promote", json={"name": "iris"}, headers=h).json()
    assert v2["version"] == 2 and v2["model_id"] == v1["model_id"]

    model = c.get(f"{API}/models/{v1['model_id']}", headers=h).json()
    assert model["latest_version"] == 2 and model["aliases"] == {"champion": 1}
    listing = c.get(f"{API}/workspaces/{env['ws']}/models", headers=h).json()
    assert "iris" in [m["name"] for m in listing["items"]]
    versions = c.get(f"{API}/models/{v1['model_id']}/versions", headers=h).json()
    assert [(v["version"], v["run_id"]) for v in versions] == [
        (1, env["runs"][0]),
        (2, env["runs"][1]),
    ]

    moved = c.put(f"{API}/models/{v1['model_id']}/aliases/champion", json={"version": 2}, headers=h)
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2 and moved.json()["aliases"] == ["champion"]
    model = c.get(f"{API}/models/{v1['model_id']}", headers=h).json()
    assert model["aliases"] == {"champion": 2}
    missing = c.put(
        f"{API}/models/{v1['model_id']}/aliases/champion", json={"version": 9}, headers=h
    )
    assert missing.status_code == 404
    bad = c.put(f"{API}/models/{v1['model_id']}/aliases/latest", json={"version": 1}, headers=h)
    assert bad.status_code == 422
    # a run that backs a model version cannot be deleted
    assert c.delete(f"{API}/runs/{env['runs'][0]}", headers=h).status_code == 409


def test_only_succeeded_runs_can_be_promoted(env):
    c, h = env["api"].client, env["alice"]
    queued = c.post(
        f"{API}/experiments/{env['queued_exp']}/runs",
        json={"dataset_id": env["dataset"]["id"]},
        headers=h,
    ).json()
    r = c.post(f"{API}/runs/{queued['id']}/promote", json={"name": "iris2"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    c.post(f"{API}/runs/{queued['id']}/cancel", headers=h)
    bad_name = c.post(f"{API}/runs/{env['runs'][0]}/promote", json={"name": "../x"}, headers=h)
    assert bad_name.status_code == 422


def test_another_workspaces_models_answer_404(env):
    c, h, bob = env["api"].client, env["alice"], env["bob"]
    mv = c.post(f"{API}/runs/{env['runs'][0]}/promote", json={"name": "shared"}, headers=h).json()
    for method, path, body in [
        ("GET", f"/models/{mv['model_id']}", None),
        ("GET", f"/models/{mv['model_id']}/versions", None),
        ("PUT", f"/models/{mv['model_id']}/aliases/prod", {"version": 1}),
        ("POST", f"/runs/{env['runs'][0]}/promote", {"name": "stolen"}),
        ("GET", f"/workspaces/{env['ws']}/models", None),
        ("GET", "/models/mdl_doesnotexist", None),
    ]:
        r = c.request(method, f"{API}{path}", json=body, headers=bob)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "not_found"
    own = c.get(f"{API}/workspaces/{env['ws_b']}/models", headers=bob).json()
    assert own["items"] == []
