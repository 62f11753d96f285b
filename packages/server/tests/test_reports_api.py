"""EDA reports over HTTP: start a profile (202), the worker runs it, JSON result, the HTML page
under a restrictive CSP, 409 before it succeeded, roles, and 404 across workspaces."""

from __future__ import annotations

import io

import pytest

from mlsmith.core.services.worker import Worker
from mlsmith.server.testing import API

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
EVIL = "<script>alert(1)</script>"


def _csv() -> bytes:
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df[EVIL] = [EVIL if i % 2 else "plain" for i in range(len(df))]
    return df.to_csv(index=False).encode()


def _upload(api, headers, ws) -> str:
    r = api.client.post(
        f"{API}/workspaces/{ws}/datasets",
        files={"file": ("iris.csv", io.BytesIO(_csv()), "text/csv")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _finish(api, headers, report_id) -> dict:
    """Drive the worker in this thread, polling the report over HTTP until it ends."""
    state: dict = {}

    def done() -> bool:
        r = api.client.get(f"{API}/reports/{report_id}", headers=headers)
        assert r.status_code == 200, r.text
        state.update(r.json())
        return state["status"] in ("succeeded", "failed") and not worker.busy

    worker = Worker(api.backends, poll_s=0.01)
    worker.run_until(done)
    return state


@pytest.fixture
def profiled(api, admin):
    h, ws = admin["headers"], admin["workspace_id"]
    ds = _upload(api, h, ws)
    r = api.client.post(f"{API}/datasets/{ds}/profile", json={"target": "target"}, headers=h)
    assert r.status_code == 202, r.text
    return {"dataset": ds, "started": r.json(), "report": _finish(api, h, r.json()["id"])}


def test_start_answers_202_with_the_queued_report_and_it_succeeds(profiled):
    started, report = profiled["started"], profiled["report"]
    assert started["status"] == "queued" and started["target"] == "target"
    assert started["dataset_id"] == profiled["dataset"] and started["result"] == {}
    assert report["status"] == "succeeded", report["error"]
    result = report["result"]
    assert (result["n_rows"], result["n_columns"]) == (150, 6)
    assert result["target"]["task"] == "classification"
    names = [c["name"] for c in result["columns"]]
    assert EVIL in names  # JSON keeps the data as it is; only the page escapes it
    assert "html_key" not in report and "reports/" not in str(report)


def test_html_is_served_escaped_under_a_restrictive_csp(api, admin, profiled):
    rid = profiled["report"]["id"]
    r = api.client.get(f"{API}/reports/{rid}/html", headers=admin["headers"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_a_profile_without_a_body_has_no_target(api, admin):
    h = admin["headers"]
    ds = _upload(api, h, admin["workspace_id"])
    r = api.client.post(f"{API}/datasets/{ds}/profile", headers=h)
    assert r.status_code == 202, r.text
    report = _finish(api, h, r.json()["id"])
    assert report["status"] == "succeeded" and report["result"]["target"] is None


def test_html_is_409_until_the_report_succeeded(api, admin):
    h = admin["headers"]
    ds = _upload(api, h, admin["workspace_id"])
    rid = api.client.post(f"{API}/datasets/{ds}/profile", json={}, headers=h).json()["id"]
    r = api.client.get(f"{API}/reports/{rid}/html", headers=h)  # no worker ran: still queued
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_tampered_page_is_refused(api, admin, profiled):
    rid = profiled["report"]["id"]
    api.backends.blobs.put(f"reports/{rid}/report.html", io.BytesIO(b"<script>x()</script>"))
    r = api.client.get(f"{API}/reports/{rid}/html", headers=admin["headers"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_error"
    assert "<script" not in r.text


def test_unknown_target_is_422(api, admin):
    h = admin["headers"]
    ds = _upload(api, h, admin["workspace_id"])
    r = api.client.post(f"{API}/datasets/{ds}/profile", json={"target": "nope"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_viewers_read_reports_but_cannot_start_one(api, admin, profiled):
    ws, h = admin["workspace_id"], admin["headers"]
    api.register("viewer@example.com")
    added = api.client.post(
        f"{API}/workspaces/{ws}/members",
        json={"email": "viewer@example.com", "role": "viewer"},
        headers=h,
    )
    assert added.status_code in (200, 201), added.text
    viewer = api.headers("viewer@example.com")
    rid = profiled["report"]["id"]
    assert api.client.get(f"{API}/reports/{rid}", headers=viewer).status_code == 200
    assert api.client.get(f"{API}/reports/{rid}/html", headers=viewer).status_code == 200
    r = api.client.post(f"{API}/datasets/{profiled['dataset']}/profile", headers=viewer)
    assert r.status_code == 403


def test_other_workspaces_get_404_for_reports_and_profiles(api, admin, profiled):
    api.register("bob@example.com")
    bob = api.headers("bob@example.com")
    assert api.client.post(f"{API}/workspaces", json={"name": "bravo"}, headers=bob).is_success
    rid = profiled["report"]["id"]
    for url in (f"{API}/reports/{rid}", f"{API}/reports/{rid}/html"):
        r = api.client.get(url, headers=bob)
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
    r = api.client.post(f"{API}/datasets/{profiled['dataset']}/profile", headers=bob)
    assert r.status_code == 404
    foreign = api.client.get(f"{API}/reports/{rid}", headers=bob).json()["message"]
    missing = api.client.get(f"{API}/reports/rep_missing", headers=bob).json()["message"]
    assert foreign == f"report {rid!r} not found"  # worded exactly like a missing one
    assert missing == "report 'rep_missing' not found"
