"""The whole platform over HTTP, through a real `mlsmith serve` (uvicorn) on 127.0.0.1: bootstrap ->
login -> upload a real CSV -> run -> SSE events until done -> promote -> deploy -> predict (JSON and
CSV) -> counters and latency. The same test body runs on three configurations chosen by settings
only: the embedded SQLite default, PostgreSQL, and the AWS/Celery shape (PostgreSQL + S3, KMS, SQS
and SNS on a moto server over HTTP + Celery compute on Redis with one `mlsmith worker`)."""

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


REDIS_URL = os.environ.get("MLSMITH_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _unreachable(what: str, exc: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} unreachable in CI: {exc}")
    pytest.skip(f"{what} unreachable (local run): {exc}")


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unreachable("PostgreSQL", exc)
    schema = f"e2e_{secrets.token_hex(6)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _aws_env(moto: str, db_url: str) -> dict[str, str]:
    import boto3
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unreachable("Redis", exc)
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    region = "us-east-1"
    kw = {"endpoint_url": moto, "region_name": region, "aws_access_key_id": "testing"}
    kw["aws_secret_access_key"] = "testing"
    boto3.client("s3", **kw).create_bucket(Bucket="mlsmith-e2e")
    key_id = boto3.client("kms", **kw).create_key()["KeyMetadata"]["KeyId"]
    topic = boto3.client("sns", **kw).create_topic(Name="mlsmith-e2e")["TopicArn"]
    tag = secrets.token_hex(4)
    broker = f"{REDIS_URL.rstrip('/')}/{1 + secrets.randbelow(15)}"
    return {
        **creds,
        "AWS_DEFAULT_REGION": region,
        "MLSMITH_DATABASE_URL": db_url,
        "MLSMITH_STORAGE_URL": "s3://mlsmith-e2e/platform",
        "MLSMITH_STORAGE_OPTIONS__ENDPOINT_URL": moto,
        "MLSMITH_SECRETS_URL": f"kms://{key_id}",
        "MLSMITH_SECRETS_OPTIONS__ENDPOINT_URL": moto,
        "MLSMITH_QUEUE_URL": f"sqs://e2e{tag}",
        "MLSMITH_QUEUE_OPTIONS__ENDPOINT_URL": moto,
        "MLSMITH_QUEUE_OPTIONS__CREATE": "true",
        "MLSMITH_NOTIFIER_URL": f"sns://{topic}",
        "MLSMITH_NOTIFIER_OPTIONS__ENDPOINT_URL": moto,
        "MLSMITH_COMPUTE": f"celery+{broker}",
        "MLSMITH_COMPUTE_OPTIONS__QUEUE": f"e2e-{tag}",
        "MLSMITH_COMPUTE_OPTIONS__STATUS_PREFIX": f"e2e-{tag}:",
    }


@pytest.fixture(params=["sqlite", "postgres", "aws-celery"])
def platform(request) -> tuple[dict[str, str], list[list[str]]]:
    """(settings as environment, extra `mlsmith` processes to run beside the server)."""
    if request.param == "sqlite":
        return {}, []
    db_url = request.getfixturevalue("postgres_schema_url")
    if request.param == "postgres":
        return {"MLSMITH_DATABASE_URL": db_url}, []
    env = _aws_env(request.getfixturevalue("moto_url"), db_url)
    return env, [["worker", "--concurrency", "1"]]


@pytest.fixture
def server(tmp_path, platform) -> Iterator[httpx.Client]:
    settings_env, extras = platform
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    env.update(settings_env, MLSMITH_DATA_DIR=str(tmp_path / "data"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlsmith.cli", *args],
            cwd=tmp_path,
            env=env,
            stdout=(tmp_path / f"{args[0]}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for args in extras
    ]
    server_log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsmith.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    procs.append(proc)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        for _ in range(900):
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{(tmp_path / 'server.log').read_text()}")
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
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


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
    final = server.get(f"{api}/runs/{run['id']}", headers=auth).json()
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", (statuses, final.get("error"))
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
