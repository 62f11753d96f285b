"""Health, readiness, metrics, request ids, logs, trusted hosts, CORS, docs, the NLQ placeholder."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from mlsmith.core.errors import BackendUnavailable
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server.app import create_app
from mlsmith.server.testing import API, settings


def test_healthz_and_readyz(api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    r = api.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"db": "ok", "storage": "ok"}}


def test_readyz_is_503_when_storage_is_down(api, monkeypatch):
    def down() -> None:
        raise BackendUnavailable("bucket unreachable: s3://secret-bucket")

    monkeypatch.setattr(api.backends.blobs, "ping", down)
    r = api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"db": "ok", "storage": "unavailable"}
    assert "secret-bucket" not in r.text
    assert api.client.get("/healthz").status_code == 200  # liveness does no I/O


def test_readyz_is_503_when_the_database_is_down(api, monkeypatch):
    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(api.backends.metadata, "ping", down)
    r = api.client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["db"] == "unavailable"


def test_metrics_count_requests_by_route_template_and_show_runs_by_status(api, admin):
    h = admin["headers"]
    ws = admin["workspace_id"]
    api.client.get(f"{API}/workspaces/{ws}", headers=h)
    api.client.get(f"{API}/workspaces/ws_ffffffffffffffff", headers=h)
    api.client.get("/no-such-thing")
    r = api.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert (
        'mlsmith_http_requests_total{method="GET",route="/api/v1/workspaces/{workspace_id}",status="200"} 1.0'
        in text
    )
    assert (
        'mlsmith_http_requests_total{method="GET",route="/api/v1/workspaces/{workspace_id}",status="404"} 1.0'
        in text
    )
    assert ws not in text  # ids never become label values
    assert 'route="<unmatched>",status="404"' in text
    assert "mlsmith_http_request_duration_seconds_bucket" in text
    assert 'mlsmith_runs{status="queued"} 0.0' in text


def test_request_id_is_echoed_when_sane_and_replaced_otherwise(api):
    r = api.client.get("/healthz", headers={"X-Request-ID": "abc-123.trace_7"})
    assert r.headers["x-request-id"] == "abc-123.trace_7"
    for bad in ("has space", "x" * 200, "<script>", "a\tb"):
        r = api.client.get("/healthz", headers={"X-Request-ID": bad})
        rid = r.headers["x-request-id"]
        assert rid != bad and len(rid) == 32
    r1, r2 = api.client.get("/healthz"), api.client.get("/healthz")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


def test_request_id_is_in_the_log_lines_and_admin_logs_shows_them(api, admin):
    api.client.get(f"{API}/auth/me", headers={**admin["headers"], "X-Request-ID": "trace-me-42"})
    r = api.client.get(f"{API}/admin/logs?n=200", headers=admin["headers"])
    assert r.status_code == 200
    lines = [x for x in r.json()["lines"] if x.get("request_id") == "trace-me-42"]
    access = [x for x in lines if x.get("logger") == "mlsmith.access"]
    assert access and access[-1]["path"] == "/api/v1/auth/me" and access[-1]["status"] == 200
    assert "duration_ms" in access[-1]
    # Never credentials or bodies in log lines.
    token = admin["headers"]["Authorization"].split()[1]
    assert token not in r.text
    assert "correct horse" not in r.text


def test_untrusted_host_is_refused(api):
    r = api.client.get("/healthz", headers={"Host": "evil.example"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_host"
    assert api.client.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200


def test_cors_allows_only_configured_origins():
    backends = fake_backends(settings(cors_origins=["https://ui.example"]))
    app = create_app(backends, start_worker=False)
    with TestClient(app) as client:
        pre = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        ok = client.options(f"{API}/auth/login", headers={"Origin": "https://ui.example", **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://ui.example"
        bad = client.options(f"{API}/auth/login", headers={"Origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in bad.headers
        r = client.get("/healthz", headers={"Origin": "https://ui.example"})
        assert "x-request-id" in r.headers["access-control-expose-headers"].lower()


def test_openapi_and_docs_are_served(api):
    spec = api.client.get("/openapi.json").json()
    assert f"{API}/auth/login" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert api.client.get("/docs").status_code == 200


def test_nlq_is_a_structured_not_configured_placeholder(api, admin):
    r = api.client.post(
        f"{API}/nlq",
        json={"workspace_id": admin["workspace_id"], "question": "best run?"},
        headers=admin["headers"],
    )
    assert r.status_code == 501
    body = r.json()
    assert body["code"] == "not_configured"
    assert {"sql", "plan"} <= set(body["details"]["contract"]["response"])


def test_lifespan_starts_and_stops_the_worker_thread():
    app = create_app(fake_backends(settings()), start_worker=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert any(t.name == "mlsmith-worker" for t in threading.enumerate())
    assert not any(t.name == "mlsmith-worker" and t.is_alive() for t in threading.enumerate())


def test_lifespan_builds_migrates_and_closes_local_backends(tmp_path):
    from mlsmith.core.settings import Settings

    app = create_app(settings=Settings(data_dir=tmp_path), start_worker=False)
    assert app.state.backends is None
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/readyz").status_code == 200
        assert client.get(f"{API}/setup/status").json()["bootstrapped"] is False
    assert app.state.backends is None  # closed and released on shutdown
    assert (tmp_path / "mlsmith.db").exists()


def test_cross_site_writes_from_unconfigured_origins_are_refused():
    backends = fake_backends(settings(cors_origins=["https://ui.example"]))
    app = create_app(backends, start_worker=False)
    body = {"email": "nobody@example.com", "password": "x" * 12}
    with TestClient(app) as client:
        evil = client.post(
            f"{API}/auth/login", json=body, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403 and evil.json()["code"] == "forbidden_origin"
        # A configured origin, the server's own origin and no Origin at all reach the route.
        for headers in ({"Origin": "https://ui.example"}, {"Origin": "http://testserver"}, {}):
            r = client.post(f"{API}/auth/login", json=body, headers=headers)
            assert r.status_code == 401, (headers, r.text)
        # Reads are not state-changing: an Origin on a GET is CORS's business only.
        assert client.get("/healthz", headers={"Origin": "https://evil.example"}).status_code == 200
