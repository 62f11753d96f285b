"""The whole platform over HTTP, through a real `mlsmith serve` (uvicorn) on 127.0.0.1, once on the
embedded SQLite default and once on PostgreSQL: bootstrap -> login -> upload a real CSV -> run ->
SSE events until done -> promote -> deploy -> predict (JSON and CSV) -> counters and latency."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
PG_URL = os.environ.get(
    "MLSMITH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    psycopg = pytest.importorskip("psycopg")
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable (local run): {exc}")
    schema = f"e2e_{secrets.token_hex(6)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield {"MLSMITH_DATABASE_URL": f"{PG_URL}{sep}options=-csearch_path%3D{schema}"}
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def server(tmp_path, database_env) -> Iterator[httpx.Client]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    env.update(database_env, MLSMITH_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsmith.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{proc.stdout.read().decode()}")
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("server did not become ready")
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ok(resp: httpx.Response, status: int = 200) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    return resp.json()


def _sse_events(client: httpx.Client, path: str, headers: dict) -> list[dict]:
    events = []
    with client.stream("GET", path, headers=headers, timeout=300) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    return events


def test_bootstrap_to_predict_over_http(server: httpx.Client):
    from sklearn.datasets import load_breast_cancer

    api = "/api/v1"
    boot = _ok(
        server.post(
            f"{api}/setup/bootstrap",
            json={"email": "admin@example.com", "password": PASSWORD, "workspace_name": "team"},
        ),
        201,
    )
    ws = boot["workspace"]["id"]
    tokens = _ok(
        server.post(f"{api}/auth/login", json={"email": "admin@example.com", "password": PASSWORD})
    )
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    upload = _ok(
        server.post(
            f"{api}/workspaces/{ws}/datasets",
            headers=auth,
            files={"file": ("cancer.csv", frame.to_csv(index=False).encode(), "text/csv")},
        ),
        201,
    )
    assert (upload["n_rows"], upload["n_cols"]) == (569, 31)

    project = _ok(
        server.post(f"{api}/workspaces/{ws}/projects", headers=auth, json={"name": "p"}), 201
    )
    experiment = _ok(
        server.post(
            f"{api}/projects/{project['id']}/experiments",
            headers=auth,
            json={
                "name": "cancer",
                "target": "target",
                "settings": {"folds": 3, "time_budget_s": 8},
            },
        ),
        201,
    )
    run = _ok(
        server.post(
            f"{api}/experiments/{experiment['id']}/runs",
            headers=auth,
            json={"dataset_id": upload["id"]},
        ),
        202,
    )
    events = _sse_events(server, f"{api}/runs/{run['id']}/events", auth)
    statuses = [e["payload"]["status"] for e in events if e["kind"] == "status"]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", statuses
    assert any(e["kind"] == "model" for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)

    version = _ok(
        server.post(
            f"{api}/runs/{run['id']}/promote",
            headers=auth,
            json={"name": "cancer", "alias": "champion"},
        ),
        201,
    )
    assert version["version"] == 1
    _ok(
        server.post(
            f"{api}/workspaces/{ws}/deployments",
            headers=auth,
            json={"slug": "cancer-prod", "model": "cancer", "alias": "champion"},
        ),
        201,
    )
    rows = frame.drop(columns=["target"]).head(5)
    by_json = _ok(
        server.post(
            f"{api}/deployments/cancer-prod/predict",
            headers=auth,
            json={"rows": rows.to_dict(orient="records")},
        )
    )
    assert by_json["version"] == 1
    assert by_json["predictions"] == frame["target"].head(5).tolist()
    assert set(by_json["probabilities"][0]) == {"benign", "malignant"}

    buf = io.StringIO()
    rows.to_csv(buf, index=False)
    by_csv = _ok(
        server.post(
            f"{api}/deployments/cancer-prod/predict",
            headers={**auth, "Content-Type": "text/csv"},
            content=buf.getvalue().encode(),
        )
    )
    assert by_csv["predictions"] == by_json["predictions"]

    stats = _ok(server.get(f"{api}/deployments/cancer-prod/stats", headers=auth))
    assert stats["requests"] >= 2 and stats["errors"] == 0
    assert (
        stats["latency_ms"]["p50"] > 0 and stats["latency_ms"]["p95"] >= stats["latency_ms"]["p50"]
    )
