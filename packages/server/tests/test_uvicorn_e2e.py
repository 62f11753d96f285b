"""A real server: ``mlsmith serve`` (uvicorn + create_app) on 127.0.0.1 over the local SQLite
backends in a temporary data dir, driven with httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PASSWORD = "a long enough passphrase"
STARTUP_POLLS = 300  # x 0.1 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path, subprocess.Popen]]:
    data_dir = tmp_path / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlsmith.cli",
            "--data-dir",
            str(data_dir),
            "serve",
            "--port",
            str(port),
        ],
        cwd=tmp_path,  # no mlsmith.toml from the repository
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        for _ in range(STARTUP_POLLS):
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
        yield client, data_dir, proc
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_bootstrap_login_me_refresh_and_reuse_revokes_the_family(server):
    client, data_dir, proc = server
    r = client.post(
        "/api/v1/setup/bootstrap",
        json={"email": "root@example.com", "password": PASSWORD, "workspace_name": "main"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"]
    assert (
        client.post(
            "/api/v1/setup/bootstrap",
            json={"email": "x@example.com", "password": PASSWORD, "workspace_name": "w"},
        ).status_code
        == 409
    )

    pair = client.post(
        "/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD}
    ).json()
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=auth)
    assert me.status_code == 200 and me.json()["user"]["email"] == "root@example.com"

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    newer = rotated.json()["refresh_token"]
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "unauthenticated"
    family = client.post("/api/v1/auth/refresh", json={"refresh_token": newer})
    assert family.status_code == 401

    # An API key works as a Bearer credential and is not recoverable from the database files.
    created = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=auth)
    assert created.status_code == 201
    key = created.json()["key"]
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    secret = key.split("_")[2].encode()
    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert stored, "the data dir holds the database"
    assert secret not in stored and key.encode() not in stored

    metrics = client.get("/metrics").text
    assert 'route="/api/v1/auth/refresh",status="401"' in metrics

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
