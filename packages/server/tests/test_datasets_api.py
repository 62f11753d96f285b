"""Datasets over HTTP: streamed multipart upload with its caps and sniffing, listing, preview,
delete (409 while in use), and isolation between workspaces."""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile

import pytest

from mlsmith.server.testing import API


def _iris_csv() -> bytes:
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame.to_csv(index=False).encode()


def _upload(api, headers, ws, data: bytes, filename: str = "iris.csv"):
    return api.client.post(
        f"{API}/workspaces/{ws}/datasets",
        files={"file": (filename, io.BytesIO(data), "text/csv")},
        headers=headers,
    )


def _stored(api) -> list[str]:
    return list(api.backends.blobs.list_keys(""))


@pytest.fixture
def bob(api, admin):
    """A second user with his own workspace."""
    api.register("bob@example.com")
    headers = api.headers("bob@example.com")
    ws = api.client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=headers).json()["id"]
    return {"headers": headers, "ws": ws}


def _experiment(api, headers, ws, target="target") -> str:
    prj = api.client.post(f"{API}/workspaces/{ws}/projects", json={"name": "p"}, headers=headers)
    exp = api.client.post(
        f"{API}/projects/{prj.json()['id']}/experiments",
        json={"name": "e", "target": target},
        headers=headers,
    )
    assert exp.status_code == 201, exp.text
    return exp.json()["id"]


def test_upload_of_a_real_csv_returns_counts_typed_columns_and_sha256(api, admin):
    data = _iris_csv()
    r = _upload(api, admin["headers"], admin["workspace_id"], data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["n_rows"], body["n_cols"]) == (150, 5)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data)
    assert body["columns"][0] == {"name": "sepal length (cm)", "dtype": "float64"}
    assert "storage_key" not in body and "workspaces/" not in r.text
    got = api.client.get(f"{API}/datasets/{body['id']}", headers=admin["headers"])
    assert got.status_code == 200 and got.json() == body


def test_tsv_upload_is_split_on_tabs(api, admin):
    r = _upload(api, admin["headers"], admin["workspace_id"], b"a\tb\n1\tx\n2\ty\n", "t.tsv")
    assert r.status_code == 201, r.text
    assert [c["name"] for c in r.json()["columns"]] == ["a", "b"]


def test_list_is_paginated(api, admin):
    ws, h = admin["workspace_id"], admin["headers"]
    ids = {_upload(api, h, ws, b"a,b\n1,2\n").json()["id"] for _ in range(3)}
    p1 = api.client.get(f"{API}/workspaces/{ws}/datasets?limit=2", headers=h).json()
    p2 = api.client.get(f"{API}/workspaces/{ws}/datasets?limit=2&offset=2", headers=h).json()
    assert (len(p1["items"]), len(p2["items"])) == (2, 1)
    assert {d["id"] for d in p1["items"] + p2["items"]} == ids
    too_big = api.client.get(f"{API}/workspaces/{ws}/datasets?limit=100000", headers=h)
    assert too_big.status_code == 422


def test_preview_returns_typed_columns_and_capped_rows(api, admin):
    ws, h = admin["workspace_id"], admin["headers"]
    ds = _upload(api, h, ws, b"n,label\n" + b"1,x\n2,\n" * 200).json()
    r = api.client.get(f"{API}/datasets/{ds['id']}/preview?rows=3", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [[1, "x"], [2, None], [1, "x"]]
    assert r.json()["columns"] == ds["columns"]
    capped = api.client.get(f"{API}/datasets/{ds['id']}/preview?rows=5000", headers=h).json()
    assert len(capped["rows"]) == 100


def test_oversize_upload_is_413_and_leaves_nothing_in_storage(make_api):
    api = make_api(max_upload_bytes=10_000)
    out = api.bootstrap()
    h, ws = api.headers("admin@example.com"), out["workspace"]["id"]
    r = _upload(api, h, ws, b"a,b\n" + b"1,2\n" * 20_000)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload_too_large"
    assert _stored(api) == []
    assert api.client.get(f"{API}/workspaces/{ws}/datasets", headers=h).json()["items"] == []
    assert _upload(api, h, ws, b"a,b\n1,2\n").status_code == 201  # under the cap: accepted


def _zip_of_csv() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (_zip_of_csv(), "data.csv"),
        (pickle.dumps({"a": [1, 2, 3]}), "data.csv"),
        (b"a,b\n1,\x00\n", "data.csv"),
        (b"a,b\n1,2\n", "data.xlsx"),
        (b"a,b\n1,2\n", "data.pkl"),
    ],
)
def test_archive_pickle_nul_or_wrong_extension_is_415_and_not_stored(api, admin, content, filename):
    r = _upload(api, admin["headers"], admin["workspace_id"], content, filename)
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "unsupported_media_type"
    assert _stored(api) == []


def test_too_many_columns_is_422(api, admin):
    header = ",".join(f"c{i}" for i in range(3000)).encode()
    r = _upload(
        api, admin["headers"], admin["workspace_id"], header + b"\n" + b"1," * 2999 + b"1\n"
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert _stored(api) == []


@pytest.mark.parametrize(
    "filename", ["../../../../etc/passwd.csv", "..\\..\\boot.csv", "%2e%2e%2f%2e%2e%2fx.csv"]
)
def test_traversal_file_name_is_kept_as_metadata_under_a_platform_key(api, admin, filename):
    ws = admin["workspace_id"]
    r = _upload(api, admin["headers"], ws, b"a,b\n1,2\n", filename)
    assert r.status_code == 201, r.text
    ds = r.json()
    assert _stored(api) == [f"workspaces/{ws}/datasets/{ds['id']}/data.csv"]
    assert "/" not in ds["name"] and "\\" not in ds["name"] and ".." not in ds["name"]


def test_delete_is_409_while_a_run_uses_the_dataset_then_removes_everything(api, admin):
    ws, h = admin["workspace_id"], admin["headers"]
    ds = _upload(api, h, ws, _iris_csv()).json()
    exp = _experiment(api, h, ws)
    run = api.client.post(f"{API}/experiments/{exp}/runs", json={"dataset_id": ds["id"]}, headers=h)
    assert run.status_code == 202, run.text  # no worker in this app: the run stays queued
    r = api.client.delete(f"{API}/datasets/{ds['id']}", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert api.client.post(f"{API}/runs/{run.json()['id']}/cancel", headers=h).status_code == 200
    assert api.client.delete(f"{API}/datasets/{ds['id']}", headers=h).status_code == 204
    assert api.client.get(f"{API}/datasets/{ds['id']}", headers=h).status_code == 404
    assert _stored(api) == []


def test_datasets_of_another_workspace_answer_404_like_missing_ones(api, admin, bob):
    ds = _upload(api, bob["headers"], bob["ws"], b"a,b\n1,2\n").json()
    alice = admin["headers"]
    for method, path in [
        ("GET", f"/datasets/{ds['id']}"),
        ("GET", f"/datasets/{ds['id']}/preview"),
        ("DELETE", f"/datasets/{ds['id']}"),
        ("GET", f"/workspaces/{bob['ws']}/datasets"),
        ("GET", "/datasets/ds_doesnotexist"),
    ]:
        r = api.client.request(method, f"{API}{path}", headers=alice)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "not_found"
    r = _upload(api, alice, bob["ws"], b"a,b\n1,2\n")
    assert r.status_code == 404
    assert len(_stored(api)) == 1  # bob's file only


def test_upload_needs_credentials(api, admin):
    r = api.client.post(
        f"{API}/workspaces/{admin['workspace_id']}/datasets",
        files={"file": ("a.csv", io.BytesIO(b"a\n1\n"), "text/csv")},
    )
    assert r.status_code == 401


def test_viewers_read_but_cannot_upload_or_delete(api, admin):
    ws, h = admin["workspace_id"], admin["headers"]
    ds = _upload(api, h, ws, b"a,b\n1,2\n").json()
    api.register("viewer@example.com")
    added = api.client.post(
        f"{API}/workspaces/{ws}/members",
        json={"email": "viewer@example.com", "role": "viewer"},
        headers=h,
    )
    assert added.status_code in (200, 201), added.text
    viewer = api.headers("viewer@example.com")
    assert api.client.get(f"{API}/datasets/{ds['id']}", headers=viewer).status_code == 200
    assert _upload(api, viewer, ws, b"a,b\n1,2\n").status_code == 403
    assert api.client.delete(f"{API}/datasets/{ds['id']}", headers=viewer).status_code == 403
    assert len(_stored(api)) == 1
