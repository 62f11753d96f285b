"""Runs over HTTP on fake backends with the in-process worker and the real engine: start (202),
live events as SSE (resumable with Last-Event-ID) and JSON pages, leaderboard, fold metrics,
artifact downloads (streamed or presigned), cancel, delete, the per-user limit (429) and isolation
between workspaces (404)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server.app import create_app
from mlsmith.server.testing import API, Api, settings

FAST = {"folds": 2, "time_budget_s": 30, "candidates": ["logistic_regression", "gaussian_nb"]}
SMALL_CSV = b"x,target\n" + b"1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n" * 5


def _iris_csv() -> bytes:
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    return df.to_csv(index=False).encode()


def _upload(api: Api, headers, ws, data: bytes) -> str:
    r = api.client.post(
        f"{API}/workspaces/{ws}/datasets",
        files={"file": ("d.csv", io.BytesIO(data), "text/csv")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _experiment(api: Api, headers, ws, settings_: dict[str, Any]) -> str:
    prj = api.client.post(f"{API}/workspaces/{ws}/projects", json={"name": "p"}, headers=headers)
    assert prj.status_code == 201, prj.text
    exp = api.client.post(
        f"{API}/projects/{prj.json()['id']}/experiments",
        json={"name": "e", "target": "target", "settings": settings_},
        headers=headers,
    )
    assert exp.status_code == 201, exp.text
    return exp.json()["id"]


def _sse(client: TestClient, url: str, headers: dict) -> list[dict[str, Any]]:
    """The events of a stream that ends by itself, each as {"id", "event", "data"}."""
    frames, cur = [], {}
    with client.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if "id" in cur:
                    frames.append({**cur, "data": json.loads(cur["data"])})
                cur = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                cur[field] = value.removeprefix(" ")
    return frames


@dataclasses.dataclass
class Env:
    api: Api
    alice: dict
    ws: str
    bob: dict
    ws_b: str
    dataset: str
    experiment: str
    run: dict  # the 202 body
    frames: list[dict]  # the whole SSE stream of the run


@pytest.fixture(scope="module")
def env():
    backends = fake_backends(settings())
    client = TestClient(create_app(backends, start_worker=True), raise_server_exceptions=False)
    client.__enter__()
    try:
        api = Api(client, backends)
        out = api.bootstrap("alice@example.com")
        alice, ws = api.headers("alice@example.com"), out["workspace"]["id"]
        api.register("bob@example.com")
        bob = api.headers("bob@example.com")
        ws_b = client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=bob).json()["id"]
        ds = _upload(api, alice, ws, _iris_csv())
        exp = _experiment(api, alice, ws, FAST)
        r = client.post(
            f"{API}/experiments/{exp}/runs",
            json={"dataset_id": ds, "overrides": {"seed": 3}},
            headers=alice,
        )
        assert r.status_code == 202, r.text
        frames = _sse(client, f"{API}/runs/{r.json()['id']}/events", alice)
        yield Env(api, alice, ws, bob, ws_b, ds, exp, r.json(), frames)
    finally:
        client.__exit__(None, None, None)


def test_start_answers_202_with_the_queued_run(env):
    run = env.run
    assert run["status"] == "queued" and run["experiment_id"] == env.experiment
    assert run["dataset_id"] == env.dataset and run["target"] == "target"
    assert run["settings"]["folds"] == 2 and run["settings"]["seed"] == 3


def test_sse_streams_every_event_in_order_and_ends_with_the_terminal_status(env):
    seqs = [int(f["id"]) for f in env.frames]
    assert seqs == list(range(1, len(seqs) + 1))
    last = env.frames[-1]
    assert last["event"] == "status" and last["data"]["payload"]["status"] == "succeeded"
    kinds = {f["event"] for f in env.frames}
    assert {"status", "stage", "model"} <= kinds
    run = env.api.client.get(f"{API}/runs/{env.run['id']}", headers=env.alice).json()
    assert run["status"] == "succeeded" and run["progress"] == 100.0 and run["best_model"]


def test_sse_resumes_after_last_event_id(env):
    url = f"{API}/runs/{env.run['id']}/events"
    resumed = _sse(env.api.client, url, {**env.alice, "Last-Event-ID": "3"})
    assert [f["id"] for f in resumed] == [f["id"] for f in env.frames[3:]]
    assert resumed[-1]["data"] == env.frames[-1]["data"]
    after_end = _sse(env.api.client, url, {**env.alice, "Last-Event-ID": env.frames[-1]["id"]})
    assert after_end == []  # nothing more will come: the stream ends at once
    bad = env.api.client.get(url, headers={**env.alice, "Last-Event-ID": "x"})
    assert bad.status_code == 422


def test_events_json_is_paginated_by_seq(env):
    url = f"{API}/runs/{env.run['id']}/events.json"
    p1 = env.api.client.get(f"{url}?after=0&limit=2", headers=env.alice).json()
    assert [e["seq"] for e in p1["items"]] == [1, 2] and p1["next_after"] == 2
    p2 = env.api.client.get(f"{url}?after=2&limit=1000", headers=env.alice).json()
    assert [e["seq"] for e in p2["items"]] == list(range(3, len(env.frames) + 1))


def test_leaderboard_and_fold_metrics(env):
    rid = env.run["id"]
    board = env.api.client.get(f"{API}/runs/{rid}/leaderboard", headers=env.alice).json()
    assert {row["model"] for row in board} >= {"logistic_regression", "gaussian_nb"}
    folds = env.api.client.get(f"{API}/runs/{rid}/folds", headers=env.alice).json()
    assert [f["model"] for f in folds] == [row["model"] for row in board]
    scores = next(iter(folds[0]["fold_scores"].values()))
    assert len(scores) == 2  # two folds


def test_artifacts_download_hashes_to_the_recorded_sha256(env):
    rid = env.run["id"]
    listing = env.api.client.get(f"{API}/runs/{rid}/artifacts", headers=env.alice).json()
    names = {a["name"] for a in listing}
    assert {"leaderboard.json", "manifest.json"} <= names
    assert all("storage_key" not in a for a in listing)
    for art in listing:
        r = env.api.client.get(f"{API}/runs/{rid}/artifacts/{art['name']}", headers=env.alice)
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).hexdigest() == art["sha256"]
        assert len(r.content) == art["size_bytes"]


@pytest.mark.parametrize(
    "name", ["nope.bin", "..%2Fmanifest.json", "attempt-1%2Fmanifest.json", "%2e%2e"]
)
def test_artifact_names_are_looked_up_never_used_as_paths(env, name):
    r = env.api.client.get(f"{API}/runs/{env.run['id']}/artifacts/{name}", headers=env.alice)
    assert r.status_code == 404


class _PresigningStore:
    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def presign(self, key: str, expires_s: int) -> str:
        return f"https://storage.example/{key}?expires={expires_s}"


def test_download_redirects_to_a_presigned_url_when_storage_offers_one(env):
    presigning = dataclasses.replace(
        env.api.backends, blobs=_PresigningStore(env.api.backends.blobs)
    )
    with TestClient(create_app(presigning, start_worker=False)) as client:
        r = client.get(
            f"{API}/runs/{env.run['id']}/artifacts/leaderboard.json",
            headers=env.alice,
            follow_redirects=False,
        )
    assert r.status_code == 307
    assert r.headers["location"].startswith("https://storage.example/runs/")
    assert r.headers["location"].endswith("/leaderboard.json?expires=300")


def test_another_workspaces_run_answers_404_everywhere(env):
    rid, bob = env.run["id"], env.bob
    for method, path in [
        ("GET", f"/runs/{rid}"),
        ("GET", f"/runs/{rid}/events"),
        ("GET", f"/runs/{rid}/events.json"),
        ("GET", f"/runs/{rid}/leaderboard"),
        ("GET", f"/runs/{rid}/folds"),
        ("GET", f"/runs/{rid}/artifacts"),
        ("GET", f"/runs/{rid}/artifacts/leaderboard.json"),
        ("POST", f"/runs/{rid}/cancel"),
        ("DELETE", f"/runs/{rid}"),
        ("GET", f"/workspaces/{env.ws}/runs"),
        ("GET", "/runs/run_doesnotexist"),
    ]:
        r = env.api.client.request(method, f"{API}{path}", headers=bob)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "not_found"
    r = env.api.client.post(
        f"{API}/experiments/{env.experiment}/runs", json={"dataset_id": env.dataset}, headers=bob
    )
    assert r.status_code == 404
    own_exp = _experiment(env.api, bob, env.ws_b, FAST)
    r = env.api.client.post(
        f"{API}/experiments/{own_exp}/runs", json={"dataset_id": env.dataset}, headers=bob
    )
    assert r.status_code == 404  # alice's dataset is invisible from bob's workspace


def test_list_runs_of_the_workspace(env):
    r = env.api.client.get(f"{API}/workspaces/{env.ws}/runs?status=succeeded", headers=env.alice)
    assert env.run["id"] in [run["id"] for run in r.json()["items"]]
    bad = env.api.client.get(f"{API}/workspaces/{env.ws}/runs?status=bogus", headers=env.alice)
    assert bad.status_code == 422


def test_invalid_overrides_are_422(env):
    for overrides in ({"target": "x"}, {"folds": "many"}):
        r = env.api.client.post(
            f"{API}/experiments/{env.experiment}/runs",
            json={"dataset_id": env.dataset, "overrides": overrides},
            headers=env.alice,
        )
        assert r.status_code == 422, r.text


def test_runs_beyond_the_per_user_limit_are_429_until_one_ends(make_api):
    api = make_api(max_concurrent_runs_per_user=2)  # no worker: runs stay queued
    out = api.bootstrap()
    h, ws = api.headers("admin@example.com"), out["workspace"]["id"]
    exp = _experiment(api, h, ws, FAST)
    ds = _upload(api, h, ws, SMALL_CSV)
    url = f"{API}/experiments/{exp}/runs"
    first = [api.client.post(url, json={"dataset_id": ds}, headers=h) for _ in range(2)]
    assert [r.status_code for r in first] == [202, 202]
    r = api.client.post(url, json={"dataset_id": ds}, headers=h)
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "throttled" and int(r.headers["retry-after"]) >= 1
    cancelled = api.client.post(f"{API}/runs/{first[0].json()['id']}/cancel", headers=h)
    assert cancelled.json()["status"] == "cancelled"
    assert api.client.post(url, json={"dataset_id": ds}, headers=h).status_code == 202


def test_cancel_then_delete_a_run(make_api):
    api = make_api()
    out = api.bootstrap()
    h, ws = api.headers("admin@example.com"), out["workspace"]["id"]
    exp = _experiment(api, h, ws, FAST)
    ds = _upload(api, h, ws, SMALL_CSV)
    run = api.client.post(f"{API}/experiments/{exp}/runs", json={"dataset_id": ds}, headers=h)
    rid = run.json()["id"]
    assert api.client.delete(f"{API}/runs/{rid}", headers=h).status_code == 409  # still queued
    assert api.client.post(f"{API}/runs/{rid}/cancel", headers=h).json()["status"] == "cancelled"
    events = _sse(api.client, f"{API}/runs/{rid}/events", h)
    assert events[-1]["data"]["payload"]["status"] == "cancelled"
    assert api.client.delete(f"{API}/runs/{rid}", headers=h).status_code == 204
    assert api.client.get(f"{API}/runs/{rid}", headers=h).status_code == 404
