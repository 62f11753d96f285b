"""Isolation between workspaces over HTTP: user B (a workspace of B's own) asking for any object of
workspace A gets a 404 whose body is the one a random, non-existent id of the same kind gets (the
id itself aside), so B cannot even learn that the object exists. Reads, writes and deletes alike;
afterwards A's objects are all still there, unchanged.

In process (TestClient) on fake backends; A's objects are real: an uploaded dataset, a run finished
by the worker (small budget), its promoted model and a workspace-auth deployment of it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlsmith.core.services.worker import Worker
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server import testing
from mlsmith.server.app import create_app
from mlsmith.server.testing import API, Api

RUN_DEADLINE_S = 300.0
FAST = {"folds": 2, "time_budget_s": 30, "candidates": ["logistic_regression"]}
CSV = b"x,y,target\n" + b"".join(
    f"{i},{(i * 7) % 5},{'a' if i % 3 else 'b'}\n".encode() for i in range(40)
)
PLACEHOLDER = "<id>"


@dataclasses.dataclass
class World:
    client: TestClient
    a: dict[str, str]  # A's headers
    b: dict[str, str]  # B's headers
    ids: dict[str, str]  # A's objects by kind


def _ok(r, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    backends = fake_backends(testing.settings())
    with TestClient(
        create_app(backends, start_worker=False), raise_server_exceptions=False
    ) as client:
        api = Api(client, backends)
        boot = api.bootstrap("alice@example.com", "alpha")
        a = api.headers("alice@example.com")
        api.register("bob@example.com")
        b = api.headers("bob@example.com")
        _ok(client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=b), 201)
        ws = boot["workspace"]["id"]
        ds = _ok(
            client.post(
                f"{API}/workspaces/{ws}/datasets",
                files={"file": ("a.csv", io.BytesIO(CSV), "text/csv")},
                headers=a,
            ),
            201,
        )["id"]
        prj = _ok(
            client.post(f"{API}/workspaces/{ws}/projects", json={"name": "p"}, headers=a), 201
        )
        exp = _ok(
            client.post(
                f"{API}/projects/{prj['id']}/experiments",
                json={"name": "e", "target": "target", "settings": FAST},
                headers=a,
            ),
            201,
        )["id"]
        run = _ok(
            client.post(f"{API}/experiments/{exp}/runs", json={"dataset_id": ds}, headers=a), 202
        )["id"]
        deadline = time.monotonic() + RUN_DEADLINE_S

        def finished() -> bool:
            status = _ok(client.get(f"{API}/runs/{run}", headers=a))["status"]
            return status in {"succeeded", "failed", "cancelled"} or time.monotonic() > deadline

        Worker(backends, poll_s=0.05).run_until(finished)
        assert _ok(client.get(f"{API}/runs/{run}", headers=a))["status"] == "succeeded"
        mv = _ok(
            client.post(
                f"{API}/runs/{run}/promote", json={"name": "m", "alias": "prod"}, headers=a
            ),
            201,
        )
        _ok(
            client.post(
                f"{API}/workspaces/{ws}/deployments",
                json={"slug": "alpha-svc", "model": "m", "alias": "prod", "auth_mode": "workspace"},
                headers=a,
            ),
            201,
        )
        ids = {
            "workspace": ws,
            "user": boot["user"]["id"],
            "dataset": ds,
            "project": prj["id"],
            "experiment": exp,
            "run": run,
            "model": mv["model_id"],
            "slug": "alpha-svc",
        }
        yield World(client, a, b, ids)


def _missing(kind: str, real: str) -> str:
    """A random id of the same kind (same prefix and shape) that names nothing."""
    if kind == "slug":
        return f"nope-{secrets.token_hex(4)}"
    prefix, _, rest = real.rpartition("_")
    return f"{prefix}_{secrets.token_hex(len(rest) // 2 or 8)}"


# (method, path template with exactly one "{kind}" placeholder, JSON body or None)
CASES: list[tuple[str, str, Any]] = [
    ("GET", "/datasets/{dataset}", None),
    ("GET", "/datasets/{dataset}/preview?rows=5", None),
    ("POST", "/datasets/{dataset}/profile", {}),
    ("DELETE", "/datasets/{dataset}", None),
    ("GET", "/runs/{run}", None),
    ("GET", "/runs/{run}/events", None),
    ("GET", "/runs/{run}/events.json", None),
    ("GET", "/runs/{run}/leaderboard", None),
    ("GET", "/runs/{run}/folds", None),
    ("GET", "/runs/{run}/artifacts", None),
    ("GET", "/runs/{run}/artifacts/manifest.json", None),
    ("GET", "/runs/{run}/artifacts/leaderboard.json", None),
    ("POST", "/runs/{run}/cancel", None),
    ("POST", "/runs/{run}/promote", {"name": "stolen"}),
    ("DELETE", "/runs/{run}", None),
    ("GET", "/models/{model}", None),
    ("GET", "/models/{model}/versions", None),
    ("PUT", "/models/{model}/aliases/prod", {"version": 1}),
    ("PUT", "/models/{model}/aliases/mine", {"version": 1}),
    ("GET", "/deployments/{slug}", None),
    ("PATCH", "/deployments/{slug}", {"auth_mode": "public"}),
    ("GET", "/deployments/{slug}/stats", None),
    ("POST", "/deployments/{slug}/predict", {"rows": [{"x": 1, "y": 2}]}),
    ("DELETE", "/deployments/{slug}", None),
    ("GET", "/projects/{project}", None),
    ("PATCH", "/projects/{project}", {"name": "stolen"}),
    ("GET", "/projects/{project}/experiments", None),
    ("POST", "/projects/{project}/experiments", {"name": "x", "target": "target"}),
    ("DELETE", "/projects/{project}", None),
    ("GET", "/experiments/{experiment}", None),
    ("PATCH", "/experiments/{experiment}", {"name": "stolen"}),
    ("POST", "/experiments/{experiment}/runs", {"dataset_id": "__dataset__"}),
    ("DELETE", "/experiments/{experiment}", None),
    ("GET", "/workspaces/{workspace}", None),
    ("PATCH", "/workspaces/{workspace}", {"name": "stolen"}),
    ("DELETE", "/workspaces/{workspace}", None),
    ("GET", "/workspaces/{workspace}/members", None),
    ("POST", "/workspaces/{workspace}/members", {"email": "bob@example.com", "role": "admin"}),
    ("PATCH", "/workspaces/{workspace}/members/__user__", {"role": "viewer"}),
    ("DELETE", "/workspaces/{workspace}/members/__user__", None),
    ("GET", "/workspaces/{workspace}/datasets", None),
    ("GET", "/workspaces/{workspace}/runs", None),
    ("GET", "/workspaces/{workspace}/models", None),
    ("GET", "/workspaces/{workspace}/deployments", None),
    ("GET", "/workspaces/{workspace}/projects", None),
    ("POST", "/workspaces/{workspace}/projects", {"name": "stolen"}),
    (
        "POST",
        "/workspaces/{workspace}/deployments",
        {"slug": "stolen-svc", "model": "m", "alias": "prod"},
    ),
]


def _kind(template: str) -> str:
    return template.split("{", 1)[1].split("}", 1)[0]


def _call(world: World, method: str, template: str, body: Any, object_id: str):
    kind = _kind(template)
    path = API + template.replace("{" + kind + "}", object_id)
    path = path.replace("__user__", world.ids["user"])
    if isinstance(body, dict) and body.get("dataset_id") == "__dataset__":
        body = {**body, "dataset_id": world.ids["dataset"]}
    return world.client.request(method, path, json=body, headers=world.b)


def _normalized(resp, object_id: str) -> tuple[int, Any, str]:
    """Status, body with the id replaced by a placeholder, content type."""
    body = json.loads(resp.text.replace(object_id, PLACEHOLDER))
    return resp.status_code, body, resp.headers.get("content-type", "")


@pytest.mark.parametrize(("method", "template", "body"), CASES, ids=lambda v: str(v)[:60])
def test_b_gets_the_missing_id_404_for_a_s_object(world: World, method, template, body):
    kind = _kind(template)
    real = world.ids[kind]
    missing = _missing(kind, real)
    got = _normalized(_call(world, method, template, body, real), real)
    expected = _normalized(_call(world, method, template, body, missing), missing)
    assert expected[0] == 404 and expected[1]["code"] == "not_found", expected
    assert got == expected, f"{method} {template}: A's object {got} vs a missing id {expected}"


def test_a_s_objects_are_untouched(world: World):
    """Runs last in this module: nothing B tried above changed or removed anything of A's."""
    c, a, ids = world.client, world.a, world.ids
    for path in (
        f"/workspaces/{ids['workspace']}",
        f"/datasets/{ids['dataset']}",
        f"/projects/{ids['project']}",
        f"/experiments/{ids['experiment']}",
        f"/runs/{ids['run']}",
        f"/models/{ids['model']}",
        f"/deployments/{ids['slug']}",
    ):
        _ok(c.get(API + path, headers=a))
    assert _ok(c.get(f"{API}/workspaces/{ids['workspace']}", headers=a))["name"] == "alpha"
    assert _ok(c.get(f"{API}/projects/{ids['project']}", headers=a))["name"] == "p"
    assert _ok(c.get(f"{API}/experiments/{ids['experiment']}", headers=a))["name"] == "e"
    assert _ok(c.get(f"{API}/runs/{ids['run']}", headers=a))["status"] == "succeeded"
    dep = _ok(c.get(f"{API}/deployments/{ids['slug']}", headers=a))
    assert dep["auth_mode"] == "workspace" and dep["alias"] == "prod"
    members = _ok(c.get(f"{API}/workspaces/{ids['workspace']}/members", headers=a))
    assert [(m["email"], m["role"]) for m in members] == [("alice@example.com", "admin")]
    versions = _ok(c.get(f"{API}/models/{ids['model']}/versions", headers=a))
    assert len(versions) == 1 and versions[0]["aliases"] == ["prod"]
    # B's token on A's workspace-auth deployment must not predict; A's does.
    rows = {"rows": [{"x": 1, "y": 2}]}
    ok = c.post(f"{API}/deployments/{ids['slug']}/predict", json=rows, headers=a)
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 1, ok.text
