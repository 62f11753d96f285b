"""Workspaces, members, projects and experiments: CRUD and isolation between workspaces."""

from __future__ import annotations

import pytest

from mlsmith.server.testing import API


@pytest.fixture
def two_tenants(api, admin):
    """Alice (the bootstrapped admin) in workspace A; Bob in his own workspace B with a project
    and an experiment."""
    api.register("bob@example.com")
    bob = api.headers("bob@example.com")
    ws_b = api.client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=bob).json()["id"]
    prj = api.client.post(
        f"{API}/workspaces/{ws_b}/projects", json={"name": "p"}, headers=bob
    ).json()["id"]
    exp = api.client.post(
        f"{API}/projects/{prj}/experiments", json={"name": "e", "target": "y"}, headers=bob
    ).json()["id"]
    return {"alice": admin["headers"], "bob": bob, "ws_b": ws_b, "project": prj, "experiment": exp}


def test_user_of_workspace_a_gets_404_on_everything_of_workspace_b(api, two_tenants):
    t = two_tenants
    alice = t["alice"]
    reads = [
        f"/workspaces/{t['ws_b']}",
        f"/workspaces/{t['ws_b']}/members",
        f"/workspaces/{t['ws_b']}/projects",
        f"/projects/{t['project']}",
        f"/projects/{t['project']}/experiments",
        f"/experiments/{t['experiment']}",
    ]
    for path in reads:
        r = api.client.get(f"{API}{path}", headers=alice)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "not_found"
        assert api.client.get(f"{API}{path}", headers=t["bob"]).status_code == 200, path
    writes = [
        ("patch", f"/workspaces/{t['ws_b']}", {"name": "mine"}),
        ("delete", f"/workspaces/{t['ws_b']}", None),
        ("post", f"/workspaces/{t['ws_b']}/members", {"email": "admin@example.com"}),
        ("post", f"/workspaces/{t['ws_b']}/projects", {"name": "intruder"}),
        ("patch", f"/projects/{t['project']}", {"name": "x"}),
        ("delete", f"/projects/{t['project']}", None),
        ("post", f"/projects/{t['project']}/experiments", {"name": "x", "target": "y"}),
        ("patch", f"/experiments/{t['experiment']}", {"name": "x"}),
        ("delete", f"/experiments/{t['experiment']}", None),
    ]
    for method, path, body in writes:
        kwargs = {"json": body} if body is not None else {}
        r = api.client.request(method, f"{API}{path}", headers=alice, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
    # B's objects are untouched.
    assert (
        api.client.get(f"{API}/experiments/{t['experiment']}", headers=t["bob"]).json()["name"]
        == "e"
    )
    assert [w["name"] for w in api.client.get(f"{API}/workspaces", headers=alice).json()] == [
        "alpha"
    ]


def test_a_hidden_object_answers_like_a_missing_one(api, two_tenants):
    t = two_tenants
    hidden = api.client.get(f"{API}/projects/{t['project']}", headers=t["alice"]).json()
    missing = api.client.get(f"{API}/projects/prj_ffffffffffffffff", headers=t["alice"]).json()
    assert hidden["code"] == missing["code"] == "not_found"
    assert hidden["message"].replace(t["project"], "ID") == missing["message"].replace(
        "prj_ffffffffffffffff", "ID"
    )
    assert set(hidden["details"]) == set(missing["details"])


def test_workspace_bound_api_key_sees_only_its_workspace(api, two_tenants):
    t = two_tenants
    ws_a = api.client.get(f"{API}/workspaces", headers=t["alice"]).json()[0]["id"]
    other = api.client.post(f"{API}/workspaces", json={"name": "charlie"}, headers=t["alice"])
    ws_c = other.json()["id"]
    key = api.client.post(
        f"{API}/api-keys", json={"name": "bound", "workspace_id": ws_a}, headers=t["alice"]
    ).json()["key"]
    kh = {"Authorization": f"Bearer {key}"}
    assert [w["id"] for w in api.client.get(f"{API}/workspaces", headers=kh).json()] == [ws_a]
    assert api.client.get(f"{API}/workspaces/{ws_a}/projects", headers=kh).status_code == 200
    assert api.client.get(f"{API}/workspaces/{ws_c}/projects", headers=kh).status_code == 404


def test_members_roles_and_viewer_cannot_write(api, two_tenants):
    t = two_tenants
    ws_b = t["ws_b"]
    r = api.client.post(
        f"{API}/workspaces/{ws_b}/members",
        json={"email": "admin@example.com", "role": "viewer"},
        headers=t["bob"],
    )
    assert r.status_code == 201, r.text
    alice_id = r.json()["user_id"]
    members = api.client.get(f"{API}/workspaces/{ws_b}/members", headers=t["alice"]).json()
    assert {(m["email"], m["role"]) for m in members} == {
        ("bob@example.com", "admin"),
        ("admin@example.com", "viewer"),
    }
    assert api.client.get(f"{API}/projects/{t['project']}", headers=t["alice"]).status_code == 200
    r = api.client.post(f"{API}/workspaces/{ws_b}/projects", json={"name": "q"}, headers=t["alice"])
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"

    r = api.client.patch(
        f"{API}/workspaces/{ws_b}/members/{alice_id}", json={"role": "member"}, headers=t["bob"]
    )
    assert r.status_code == 200 and r.json()["role"] == "member"
    r = api.client.post(f"{API}/workspaces/{ws_b}/projects", json={"name": "q"}, headers=t["alice"])
    assert r.status_code == 201

    r = api.client.delete(f"{API}/workspaces/{ws_b}/members/{alice_id}", headers=t["bob"])
    assert r.status_code == 204
    assert api.client.get(f"{API}/projects/{t['project']}", headers=t["alice"]).status_code == 404


def test_unknown_role_is_422(api, two_tenants):
    r = api.client.post(
        f"{API}/workspaces/{two_tenants['ws_b']}/members",
        json={"email": "admin@example.com", "role": "owner"},
        headers=two_tenants["bob"],
    )
    assert r.status_code == 422


def test_project_and_experiment_crud(api, admin):
    h, ws = admin["headers"], admin["workspace_id"]
    prj = api.client.post(
        f"{API}/workspaces/{ws}/projects", json={"name": "churn", "description": "d"}, headers=h
    ).json()
    r = api.client.patch(f"{API}/projects/{prj['id']}", json={"description": "new"}, headers=h)
    assert r.json()["description"] == "new" and r.json()["name"] == "churn"
    exp = api.client.post(
        f"{API}/projects/{prj['id']}/experiments",
        json={
            "name": "e1",
            "target": "churned",
            "task": "binary",
            "settings": {"folds": 3},
        },
        headers=h,
    )
    assert exp.status_code == 201, exp.text
    exp = exp.json()
    assert exp["settings"] == {"folds": 3} and exp["workspace_id"] == ws
    bad = api.client.post(
        f"{API}/projects/{prj['id']}/experiments",
        json={"name": "e2", "target": "y", "settings": {"folds": 99}},
        headers=h,
    )
    assert bad.status_code == 422
    page = api.client.get(f"{API}/projects/{prj['id']}/experiments?limit=10", headers=h).json()
    assert [e["id"] for e in page["items"]] == [exp["id"]] and page["limit"] == 10
    assert api.client.delete(f"{API}/projects/{prj['id']}", headers=h).status_code == 409
    assert api.client.delete(f"{API}/experiments/{exp['id']}", headers=h).status_code == 204
    assert api.client.delete(f"{API}/projects/{prj['id']}", headers=h).status_code == 204
    assert api.client.get(f"{API}/projects/{prj['id']}", headers=h).status_code == 404


def test_workspace_create_rename_delete(api, admin):
    h = admin["headers"]
    ws = api.client.post(f"{API}/workspaces", json={"name": "tmp"}, headers=h).json()
    r = api.client.patch(f"{API}/workspaces/{ws['id']}", json={"name": "tmp2"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "tmp2"
    assert api.client.post(f"{API}/workspaces", json={"name": "tmp2"}, headers=h).status_code == 409
    assert api.client.delete(f"{API}/workspaces/{ws['id']}", headers=h).status_code == 204
    assert api.client.get(f"{API}/workspaces/{ws['id']}", headers=h).status_code == 404
