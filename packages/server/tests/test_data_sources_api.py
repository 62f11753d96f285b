"""Data sources over HTTP with the fake connector: credentials go in and never come out (nor their
ciphertext), snapshots become datasets, runs start from a source, other workspaces see 404."""

from __future__ import annotations

import pytest

from mlsmith.core.testing.fakes.connectors import FakeConnector, use_connector
from mlsmith.server.testing import API

TOKEN = "tok-very-secret-0123456789"
TABLE = b"a,b,target\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n"
FAST = {"folds": 2, "time_budget_s": 30, "candidates": ["logistic_regression"]}


@pytest.fixture
def connector(monkeypatch) -> FakeConnector:
    fake = FakeConnector({"t": TABLE})
    use_connector(monkeypatch, fake)
    return fake


@pytest.fixture
def bob(api, admin):
    """A second user with his own workspace."""
    api.register("bob@example.com")
    headers = api.headers("bob@example.com")
    ws = api.client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=headers).json()["id"]
    return {"headers": headers, "ws": ws}


def _create(api, headers, ws, name="warehouse"):
    return api.client.post(
        f"{API}/workspaces/{ws}/data-sources",
        json={
            "name": name,
            "kind": "fake",
            "config": {"endpoint": "db.example.com"},
            "credentials": {"token": TOKEN},
        },
        headers=headers,
    )


def _no_secret(response) -> None:
    assert TOKEN not in response.text
    assert "credentials" not in response.text and "ciphertext" not in response.text


def test_create_list_get_never_show_credentials(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    created = _create(api, h, ws)
    assert created.status_code == 201, created.text
    _no_secret(created)
    body = created.json()
    assert set(body) == {"id", "workspace_id", "name", "kind", "config", "created_at"}
    assert body["config"] == {"endpoint": "db.example.com"}
    listed = api.client.get(f"{API}/workspaces/{ws}/data-sources", headers=h)
    got = api.client.get(f"{API}/data-sources/{body['id']}", headers=h)
    for r in (listed, got):
        assert r.status_code == 200, r.text
        _no_secret(r)
    assert [s["id"] for s in listed.json()["items"]] == [body["id"]]
    assert got.json() == body


def test_the_openapi_has_no_response_field_for_credentials(api):
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["DataSourceOut"]["properties"]) == {
        "id",
        "workspace_id",
        "name",
        "kind",
        "config",
        "created_at",
    }
    assert schemas["DataSourceIn"]["properties"]["credentials"]["writeOnly"] is True


def test_invalid_credentials_are_refused_without_echo(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    r = api.client.post(
        f"{API}/workspaces/{ws}/data-sources",
        json={
            "name": "x",
            "kind": "fake",
            "config": {"endpoint": "h"},
            "credentials": {"pw": TOKEN},
        },
        headers=h,
    )
    assert r.status_code == 422
    assert TOKEN not in r.text
    unknown = api.client.post(
        f"{API}/workspaces/{ws}/data-sources",
        json={"name": "x", "kind": "gopher", "config": {}, "credentials": {}},
        headers=h,
    )
    assert unknown.status_code == 422 and "unknown data source kind" in unknown.text


def test_duplicate_name_is_409(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    assert _create(api, h, ws).status_code == 201
    assert _create(api, h, ws).status_code == 409


def test_snapshot_creates_a_dataset_from_the_source(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    src = _create(api, h, ws).json()
    r = api.client.post(
        f"{API}/data-sources/{src['id']}/snapshot", json={"request": {"table": "t"}}, headers=h
    )
    assert r.status_code == 201, r.text
    _no_secret(r)
    ds = r.json()
    assert (ds["n_rows"], ds["n_cols"], ds["name"]) == (6, 3, "warehouse.csv")
    assert connector.seen_credentials == {"token": TOKEN}
    got = api.client.get(f"{API}/datasets/{ds['id']}", headers=h)
    assert got.status_code == 200 and got.json() == ds
    missing = api.client.post(
        f"{API}/data-sources/{src['id']}/snapshot", json={"request": {"table": "no"}}, headers=h
    )
    assert missing.status_code == 404


def test_a_run_starts_from_a_data_source(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    src = _create(api, h, ws).json()
    prj = api.client.post(f"{API}/workspaces/{ws}/projects", json={"name": "p"}, headers=h)
    exp = api.client.post(
        f"{API}/projects/{prj.json()['id']}/experiments",
        json={"name": "e", "target": "target"},
        headers=h,
    ).json()
    r = api.client.post(
        f"{API}/experiments/{exp['id']}/runs",
        json={"data_source_id": src["id"], "source_request": {"table": "t"}, "overrides": FAST},
        headers=h,
    )
    assert r.status_code == 202, r.text
    run = r.json()
    ds = api.client.get(f"{API}/datasets/{run['dataset_id']}", headers=h).json()
    assert (ds["n_rows"], ds["name"]) == (6, "warehouse.csv")
    both = api.client.post(
        f"{API}/experiments/{exp['id']}/runs",
        json={"dataset_id": ds["id"], "data_source_id": src["id"]},
        headers=h,
    )
    assert both.status_code == 422


def test_other_workspaces_get_404_for_everything(api, admin, bob, connector):
    src = _create(api, admin["headers"], admin["workspace_id"]).json()
    b = bob["headers"]
    assert api.client.get(f"{API}/data-sources/{src['id']}", headers=b).status_code == 404
    assert api.client.delete(f"{API}/data-sources/{src['id']}", headers=b).status_code == 404
    snap = api.client.post(
        f"{API}/data-sources/{src['id']}/snapshot", json={"request": {"table": "t"}}, headers=b
    )
    assert snap.status_code == 404
    listed = api.client.get(f"{API}/workspaces/{admin['workspace_id']}/data-sources", headers=b)
    assert listed.status_code == 404
    created = _create(api, b, admin["workspace_id"], name="intruder")
    assert created.status_code == 404
    assert connector.seen_credentials is None
    # bob's own workspace is unaffected and empty
    own = api.client.get(f"{API}/workspaces/{bob['ws']}/data-sources", headers=b)
    assert own.status_code == 200 and own.json()["items"] == []


def test_viewers_read_but_cannot_create_snapshot_or_delete(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    src = _create(api, h, ws).json()
    api.register("viewer@example.com")
    added = api.client.post(
        f"{API}/workspaces/{ws}/members",
        json={"email": "viewer@example.com", "role": "viewer"},
        headers=h,
    )
    assert added.status_code in (200, 201), added.text
    v = api.headers("viewer@example.com")
    assert api.client.get(f"{API}/data-sources/{src['id']}", headers=v).status_code == 200
    assert _create(api, v, ws, name="mine").status_code == 403
    snap = api.client.post(
        f"{API}/data-sources/{src['id']}/snapshot", json={"request": {"table": "t"}}, headers=v
    )
    assert snap.status_code == 403
    assert api.client.delete(f"{API}/data-sources/{src['id']}", headers=v).status_code == 403


def test_delete_removes_the_source(api, admin, connector):
    ws, h = admin["workspace_id"], admin["headers"]
    src = _create(api, h, ws).json()
    assert api.client.delete(f"{API}/data-sources/{src['id']}", headers=h).status_code == 204
    assert api.client.get(f"{API}/data-sources/{src['id']}", headers=h).status_code == 404
