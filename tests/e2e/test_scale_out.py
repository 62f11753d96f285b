"""Scale-out: one ``mlsmith serve`` + two ``mlsmith worker`` processes (Celery on the local Redis)
+ PostgreSQL (a fresh schema) + S3 and KMS (a moto server on 127.0.0.1, spoken to over HTTP), the
same settings in every process.

The server's in-process worker loop claims the jobs from the queue port (the database) and hands
them to ``MLSMITH_COMPUTE=celery``; the two Celery workers run them. Six runs submitted at once all
succeed; then a worker running a run is killed with SIGKILL (its pool processes die with it): the
broker delivers the task again after the visibility timeout and the other worker runs the run as a
new attempt, which is the only one whose artifact rows exist; no run is left ``running``.

Skips locally without PostgreSQL, Redis or moto; fails when ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

API = "/api/v1"
PASSWORD = "correct horse battery staple"
PG_URL = os.environ.get(
    "MLSMITH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MLSMITH_TEST_REDIS_URL", "redis://127.0.0.1:6379")
STARTUP_DEADLINE_S = 90.0
RUNS_DEADLINE_S = 900.0
TERMINAL = {"succeeded", "failed", "cancelled"}
SMALL = {"folds": 3, "time_budget_s": 8, "candidates": ["logistic_regression", "random_forest"]}
# Long enough to be killed mid-run, far below the hard time limit below.
LONGER = {"folds": 5, "time_budget_s": 30, "candidates": ["random_forest", "extra_trees"]}
CELERY = {
    "TIME_LIMIT_S": "120",  # hard limit per task
    "VISIBILITY_TIMEOUT_S": "135",  # above the limit: Redis redelivers a dead worker's task after it
    "BEAT_S": "1",
    "LOST_AFTER_S": "10",
}


def _unreachable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ok(resp: httpx.Response, status: int = 200):
    assert resp.status_code == status, (resp.status_code, resp.text)
    return resp.json()


@pytest.fixture
def postgres_url() -> Iterator[tuple[str, str]]:
    psycopg = pytest.importorskip("psycopg")
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unreachable(f"PostgreSQL unreachable: {exc}")
    schema = f"e2e_{secrets.token_hex(6)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def moto_aws(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A moto server with a bucket and a KMS key; the settings that point the platform at them."""
    try:
        import boto3
        import moto.server  # noqa: F401
    except ImportError as exc:
        _unreachable(f"moto[server] or boto3 is not installed ({exc})")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    _unreachable("moto server did not start")
                time.sleep(0.1)
        aws = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        session.client("s3", endpoint_url=endpoint).create_bucket(Bucket="mlsmith-e2e")
        key = session.client("kms", endpoint_url=endpoint).create_key()["KeyMetadata"]["KeyId"]
        yield aws | {
            "MLSMITH_STORAGE_URL": "s3://mlsmith-e2e/artifacts",
            "MLSMITH_STORAGE_OPTIONS__ENDPOINT_URL": endpoint,
            "MLSMITH_STORAGE_OPTIONS__REGION": "us-east-1",
            "MLSMITH_SECRETS_URL": f"kms://{key}",
            "MLSMITH_SECRETS_OPTIONS__ENDPOINT_URL": endpoint,
            "MLSMITH_SECRETS_OPTIONS__REGION": "us-east-1",
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def broker() -> Iterator[tuple[str, str, str]]:
    """(broker URL on a Redis database of its own, queue, status prefix); keys deleted after."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unreachable(f"Redis unreachable at {REDIS_URL}: {exc}")
    tag = secrets.token_hex(5)
    url = f"{REDIS_URL.rstrip('/')}/{1 + secrets.randbelow(15)}"
    queue, prefix = f"e2e-{tag}", f"e2e-{tag}:"
    yield url, queue, prefix
    client = redis.Redis.from_url(url)
    keys = [*client.scan_iter(f"{prefix}*"), *client.scan_iter(f"*{queue}*")]
    if keys:
        client.delete(*keys)
    client.close()


class Cluster:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - the process writes to it
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlsmith.cli", *args],
            cwd=self.tmp,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def serve(self) -> httpx.Client:
        port = _free_port()
        proc = self._spawn("server", "serve", "--port", str(port))
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{self.log('server')}")
            try:
                if client.get("/readyz").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server did not become ready:\n{self.log('server')}")

    def worker(self, name: str) -> subprocess.Popen:
        proc = self._spawn(name, "worker", "--concurrency", "2", "--hostname", f"{name}@%h")
        self.workers[name] = proc
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while " ready." not in self.log(name):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker {name} did not start:\n{self.log(name)}")
            time.sleep(0.1)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def cluster(tmp_path: Path, postgres_url, broker, moto_aws) -> Iterator[Cluster]:
    db_url, _schema = postgres_url
    broker_url, queue, prefix = broker
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLSMITH_", "AWS_"))} | moto_aws
    env.update(
        MLSMITH_DATA_DIR=str(tmp_path / "data"),
        MLSMITH_DATABASE_URL=db_url,
        MLSMITH_COMPUTE=f"celery+{broker_url}",
        MLSMITH_COMPUTE_OPTIONS__QUEUE=queue,
        MLSMITH_COMPUTE_OPTIONS__STATUS_PREFIX=prefix,
        **{f"MLSMITH_COMPUTE_OPTIONS__{k}": v for k, v in CELERY.items()},
        # The server's loop keeps this many jobs in flight to Celery (more than the 4 slots).
        MLSMITH_WORKERS="8",
        MLSMITH_MAX_CONCURRENT_RUNS_PER_USER="10",
    )
    c = Cluster(tmp_path, env)
    try:
        yield c
    finally:
        c.stop()


def _csv() -> bytes:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame.to_csv(index=False).encode()


def _wait_for(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


def _query(db_url: str, sql: str, *params: object) -> list[tuple]:
    """Read the ground truth straight from the database (the run's schema via the URL options)."""
    import psycopg

    plain = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        return list(conn.execute(sql, params))


def _running_on(prefix: str, broker_url: str, job_id: str) -> int | None:
    """The pid of the pool process running ``job_id``, from its Celery status record."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        rec = client.hgetall(f"{prefix}task:{job_id}")
    finally:
        client.close()
    if rec.get(b"state") != b"running" or not rec.get(b"worker"):
        return None
    return int(rec[b"worker"].decode().rsplit(":", 1)[1])


def test_two_celery_workers_run_six_runs_and_survive_a_sigkilled_worker(
    cluster: Cluster, postgres_url, broker
) -> None:
    import psutil

    db_url, _ = postgres_url
    broker_url, _queue, prefix = broker
    client = cluster.serve()
    cluster.worker("w1")
    cluster.worker("w2")

    _ok(
        client.post(
            f"{API}/setup/bootstrap",
            json={"email": "admin@example.com", "password": PASSWORD, "workspace_name": "team"},
        ),
        201,
    )
    login = {"email": "admin@example.com", "password": PASSWORD}
    token = _ok(client.post(f"{API}/auth/login", json=login))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    ws = _ok(client.get(f"{API}/auth/me", headers=auth))["workspaces"][0]["id"]
    ds = _ok(
        client.post(
            f"{API}/workspaces/{ws}/datasets",
            headers=auth,
            files={"file": ("cancer.csv", _csv(), "text/csv")},
        ),
        201,
    )["id"]
    prj = _ok(client.post(f"{API}/workspaces/{ws}/projects", headers=auth, json={"name": "p"}), 201)

    def experiment(name: str, settings: dict) -> str:
        return _ok(
            client.post(
                f"{API}/projects/{prj['id']}/experiments",
                headers=auth,
                json={"name": name, "target": "target", "settings": settings},
            ),
            201,
        )["id"]

    def submit(exp: str, seed: int) -> str:
        body = {"dataset_id": ds, "overrides": {"seed": seed}}
        return _ok(client.post(f"{API}/experiments/{exp}/runs", headers=auth, json=body), 202)["id"]

    def run(rid: str) -> dict:
        resp = client.get(f"{API}/runs/{rid}", headers=auth)
        if resp.status_code == 401:  # a slow machine may outlive the 15-minute access token
            token = _ok(client.post(f"{API}/auth/login", json=login))["access_token"]
            auth["Authorization"] = f"Bearer {token}"
            resp = client.get(f"{API}/runs/{rid}", headers=auth)
        return _ok(resp)

    # -- six runs at once, spread over both workers -----------------------------------------
    small = experiment("small", SMALL)
    run_ids = [submit(small, seed) for seed in range(6)]
    _wait_for(
        lambda: all(run(r)["status"] in TERMINAL for r in run_ids), RUNS_DEADLINE_S, "six runs"
    )
    final = {r: run(r) for r in run_ids}
    assert {r: v["status"] for r, v in final.items()} == dict.fromkeys(run_ids, "succeeded"), {
        r: (v["status"], v.get("error")) for r, v in final.items()
    }
    for w in ("w1", "w2"):  # both workers took part
        assert "mlsmith.run_task[" in cluster.log(w), f"worker {w} ran nothing"

    # -- SIGKILL the worker running a run ----------------------------------------------------
    victim_run = submit(experiment("longer", LONGER), 100)
    job_id = _query(db_url, "SELECT job_id FROM runs WHERE id = %s", victim_run)[0][0]
    pids: dict[str, int] = {}

    def started() -> bool:
        pid = _running_on(prefix, broker_url, job_id)
        if pid is None or run(victim_run)["status"] != "running":
            return False
        pids["task"] = pid
        return True

    _wait_for(started, STARTUP_DEADLINE_S, "the longer run to start on a worker")
    time.sleep(2)  # mid-run: past loading, into the first models
    parent = psutil.Process(pids["task"]).ppid()
    victim = next(n for n, p in cluster.workers.items() if p.pid == parent)
    survivor = next(n for n in cluster.workers if n != victim)
    assert run(victim_run)["status"] == "running"

    cluster.workers[victim].send_signal(signal.SIGKILL)
    cluster.workers[victim].wait()
    # Its pool processes die with it (Celery sets the parent-death signal).
    _wait_for(
        lambda: (
            not psutil.pid_exists(pids["task"])
            or psutil.Process(pids["task"]).status() == psutil.STATUS_ZOMBIE
        ),
        30,
        "the killed worker's pool process to die",
    )

    _wait_for(lambda: run(victim_run)["status"] in TERMINAL, RUNS_DEADLINE_S, "the killed run")
    after = run(victim_run)
    assert after["status"] == "succeeded", (after["status"], after.get("error"))
    assert after["attempt"] == 2, after  # retried once, as a new attempt
    assert f"Task mlsmith.run_task[{job_id}] received" in cluster.log(survivor)
    # No duplicate artifacts: every row names the winning attempt's directory.
    keys = [
        k
        for (k,) in _query(
            db_url, "SELECT storage_key FROM artifacts WHERE run_id = %s", victim_run
        )
    ]
    assert keys, "the retried run has no artifact rows"
    assert all(f"/attempt-{after['attempt']}/" in k for k in keys), keys
    assert len(keys) == len(set(keys))

    # No run is left running or queued.
    statuses = {r: run(r)["status"] for r in [*run_ids, victim_run]}
    assert set(statuses.values()) == {"succeeded"}, statuses
