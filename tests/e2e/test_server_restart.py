"""Queued runs survive a server restart: ``mlsmith serve`` (SQLite, a temporary data dir, one
worker) takes three runs, is stopped with SIGTERM while at least one of them is still queued, is
started again on the same data dir, and every run ends ``succeeded``; no run is left ``queued`` or
stuck ``running``.

What the stop left is read from the SQLite file itself once the first server has exited (the
ground truth, free of any race between a status poll and the signal). A run that was *running* at
the stop is handed back to the queue by the graceful shutdown (the worker's ``shutdown``), so the
stop leaves only ``queued`` (and perhaps already ``succeeded``) runs, never cancelled ones."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

API = "/api/v1"
PASSWORD = "correct horse battery staple"
STARTUP_DEADLINE_S = 60.0
STOP_DEADLINE_S = 90.0
RUNS_DEADLINE_S = 600.0
TERMINAL = {"succeeded", "failed", "cancelled"}
# Small but not instant: with one worker the second and third runs wait behind the first.
SETTINGS = {"folds": 3, "time_budget_s": 20, "candidates": ["logistic_regression", "random_forest"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csv() -> bytes:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame.to_csv(index=False).encode()


def _ok(resp: httpx.Response, status: int = 200) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    return resp.json()


Server = Callable[[], tuple[subprocess.Popen, httpx.Client, Path]]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Server]:
    """Starts ``mlsmith serve`` on the same data dir (and a new port) each time it is called."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    env.update(MLSMITH_DATA_DIR=str(tmp_path / "data"), MLSMITH_WORKERS="1")
    started: list[tuple[subprocess.Popen, httpx.Client]] = []

    def start() -> tuple[subprocess.Popen, httpx.Client, Path]:
        port = _free_port()
        log = open(tmp_path / f"server-{len(started)}.log", "wb")  # noqa: SIM115 - kept open
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlsmith.cli", "serve", "--port", str(port)],
            cwd=tmp_path,  # no mlsmith.toml from the repository
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        started.append((proc, client))
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{Path(log.name).read_text()}")
            try:
                if client.get("/readyz").status_code == 200:
                    return proc, client, tmp_path / "data"
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail("server did not become ready")

    yield start
    for proc, client in started:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _statuses(client: httpx.Client, auth: dict, run_ids: list[str]) -> dict[str, str]:
    return {r: _ok(client.get(f"{API}/runs/{r}", headers=auth))["status"] for r in run_ids}


def test_queued_runs_complete_after_a_restart(start_server: Server):
    proc, client, data_dir = start_server()
    _ok(
        client.post(
            f"{API}/setup/bootstrap",
            json={"email": "admin@example.com", "password": PASSWORD, "workspace_name": "team"},
        ),
        201,
    )
    login = {"email": "admin@example.com", "password": PASSWORD}
    auth = {
        "Authorization": f"Bearer {_ok(client.post(f'{API}/auth/login', json=login))['access_token']}"
    }
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
    exp = _ok(
        client.post(
            f"{API}/projects/{prj['id']}/experiments",
            headers=auth,
            json={"name": "cancer", "target": "target", "settings": SETTINGS},
        ),
        201,
    )["id"]
    run_ids = [
        _ok(
            client.post(
                f"{API}/experiments/{exp}/runs",
                headers=auth,
                json={"dataset_id": ds, "overrides": {"seed": i}},
            ),
            202,
        )["id"]
        for i in range(3)
    ]

    polled = _statuses(client, auth, run_ids)
    assert "queued" in polled.values(), polled  # one worker: the later runs wait
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it was stopped with.
    assert proc.wait(timeout=STOP_DEADLINE_S) in {0, -signal.SIGTERM}
    client.close()
    with closing(sqlite3.connect(data_dir / "mlsmith.db")) as db:
        at_stop = dict(db.execute("SELECT id, status FROM runs").fetchall())
    assert set(at_stop) == set(run_ids)
    queued = [r for r in run_ids if at_stop[r] == "queued"]
    assert queued, at_stop
    # The graceful stop hands what it ran back to the queue: nothing running, nothing cancelled.
    assert set(at_stop.values()) <= {"queued", "succeeded"}, at_stop

    _, client, _ = start_server()
    auth = {
        "Authorization": f"Bearer {_ok(client.post(f'{API}/auth/login', json=login))['access_token']}"
    }
    deadline = time.monotonic() + RUNS_DEADLINE_S
    while True:
        after = _statuses(client, auth, run_ids)
        if set(after.values()) <= TERMINAL or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(after.values()) <= TERMINAL, (at_stop, after)  # none queued, none stuck running
    assert after == dict.fromkeys(run_ids, "succeeded"), (at_stop, after)
    for rid in queued:
        board = _ok(client.get(f"{API}/runs/{rid}/leaderboard", headers=auth))
        assert board, f"run {rid} succeeded without a leaderboard"
