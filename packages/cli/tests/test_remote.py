"""The CLI as a client of a real server: ``mlsmith serve`` (uvicorn, SQLite, local files) in a
subprocess on 127.0.0.1, bootstrapped over HTTP, then the same commands as in embedded mode
after ``mlsmith login``: train (upload + SSE), runs, promote, models, predict (via a deployment),
token refresh, logout."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from mlsmith.cli.main import app

EMAIL = "root@example.com"
PASSWORD = "a long enough passphrase"
FAST = ["--time-budget", "5", "--folds", "3"]
STARTUP_POLLS = 600  # x 0.1 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    http: httpx.Client
    workspace_id: str

    def auth(self) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    serve = ["--data-dir", str(root / "data"), "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsmith.cli", *serve],
        cwd=root,  # no mlsmith.toml from the repository
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, timeout=30)
    try:
        for _ in range(STARTUP_POLLS):
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{proc.stdout.read().decode()}")
            try:
                if http.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("server did not become ready")
        r = http.post(
            "/api/v1/setup/bootstrap",
            json={"email": EMAIL, "password": PASSWORD, "workspace_name": "main"},
        )
        assert r.status_code == 201, r.text
        yield Server(url, http, r.json()["workspace"]["id"])
    finally:
        http.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class RemoteCli:
    """The CLI with its own config dir (XDG_CONFIG_HOME) and no data dir: remote once logged in."""

    config: Path
    env: dict[str, str | None]

    def __call__(self, *args: object, input: str | None = None) -> Result:
        return CliRunner().invoke(app, [str(a) for a in args], input=input, env=self.env)

    def json(self, *args: object) -> object:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    @property
    def credentials(self) -> Path:
        return self.config / "mlsmith" / "credentials.json"

    def saved(self) -> dict:
        return json.loads(self.credentials.read_text())

    def login(self, server: Server) -> Result:
        return self("login", "--url", server.url, "--email", EMAIL, "--password-stdin",
                    input=PASSWORD + "\n")  # fmt: skip


def _cli(tmp_path_factory: pytest.TempPathFactory, **env: str | None) -> RemoteCli:
    config = tmp_path_factory.mktemp("config")
    # MLSMITH_DATA_DIR points at an empty dir: if a command ran embedded, it would find nothing.
    embedded = tmp_path_factory.mktemp("never-used")
    base = {"XDG_CONFIG_HOME": str(config), "MLSMITH_DATA_DIR": str(embedded)}
    return RemoteCli(config, {**base, **env})


def _one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def cli(server: Server, tmp_path_factory: pytest.TempPathFactory) -> RemoteCli:
    remote = _cli(tmp_path_factory)
    result = remote.login(server)
    assert result.exit_code == 0, result.output
    assert f"logged in to {server.url} as {EMAIL} (workspace main)" in result.stdout
    return remote


@dataclass
class Trained:
    run_id: str
    output: str


@pytest.fixture(scope="module")
def trained(cli: RemoteCli, cancer_csv: Path) -> Trained:
    result = cli("train", cancer_csv, "--target", "target", *FAST)
    assert result.exit_code == 0, result.output
    (run,) = cli.json("runs", "list")
    return Trained(run["id"], result.stdout)


@pytest.fixture(scope="module")
def promoted(cli: RemoteCli, trained: Trained) -> dict:
    return cli.json("promote", trained.run_id, "--name", "cancer", "--alias", "champion")


def test_login_keeps_tokens_in_a_private_file_without_the_password(cli: RemoteCli, server):
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.credentials.parent.stat().st_mode) == 0o700
    text = cli.credentials.read_text()
    assert PASSWORD not in text
    saved = json.loads(text)
    assert saved["url"] == server.url
    assert saved["workspace_id"] == server.workspace_id
    assert saved["refresh_token"] and saved["access_token"]


def test_whoami_names_the_user_server_and_workspace(cli: RemoteCli, server):
    me = cli.json("whoami")
    assert me == {
        "mode": "remote",
        "url": server.url,
        "email": EMAIL,
        "via": "token",
        "workspace": "main",
        "workspace_id": server.workspace_id,
    }
    assert "token" not in cli("whoami").stdout.replace("via token", "")


def test_remote_train_prints_the_leaderboard_and_the_promote_hint(trained: Trained):
    assert "roc_auc ± std" in trained.output
    assert "succeeded" in trained.output
    assert f"mlsmith promote {trained.run_id} --name NAME" in trained.output


def test_train_files_runs_under_the_cli_project_with_an_experiment_per_target(
    cli: RemoteCli, server: Server, trained: Trained
):
    auth = server.auth()
    run = server.http.get(f"/api/v1/runs/{trained.run_id}", headers=auth).json()
    experiment = server.http.get(f"/api/v1/experiments/{run['experiment_id']}", headers=auth)
    assert experiment.json()["target"] == "target"
    project = server.http.get(f"/api/v1/projects/{experiment.json()['project_id']}", headers=auth)
    assert project.json()["name"] == "cli"
    assert run["settings"]["folds"] == 3


def test_runs_list_and_show_match_the_servers_view(cli: RemoteCli, server, trained):
    auth = server.auth()
    listed = cli.json("runs", "list")
    assert [r["id"] for r in listed] == [trained.run_id]
    assert listed[0]["status"] == "succeeded"
    assert cli.json("runs", "list", "--status", "failed") == []

    shown = cli.json("runs", "show", trained.run_id)
    theirs = server.http.get(f"/api/v1/runs/{trained.run_id}", headers=auth).json()
    for key, value in theirs.items():
        if key.endswith("_at") and value is not None:
            assert datetime.fromisoformat(shown[key]) == datetime.fromisoformat(value), key
        else:
            assert shown[key] == value, key
    board = server.http.get(f"/api/v1/runs/{trained.run_id}/leaderboard", headers=auth).json()
    assert shown["leaderboard"] == board
    assert shown["best_model"] == board[0]["model"]
    arts = server.http.get(f"/api/v1/runs/{trained.run_id}/artifacts", headers=auth).json()
    assert {(a["name"], a["sha256"]) for a in shown["artifacts"]} == {
        (a["name"], a["sha256"]) for a in arts
    }

    text = cli("runs", "show", trained.run_id)
    assert text.exit_code == 0, text.output
    assert arts[0]["sha256"] in text.stdout


def test_promote_and_models_list_show_alias(cli: RemoteCli, promoted: dict, trained):
    assert (promoted["name"], promoted["version"]) == ("cancer", 1)
    assert promoted["aliases"] == ["champion"]
    assert promoted["run_id"] == trained.run_id

    (model,) = cli.json("models", "list")
    assert model["name"] == "cancer"
    assert model["versions"] == 1 and model["latest"] == 1
    assert model["aliases"] == {"champion": 1}

    shown = cli.json("models", "show", "cancer")
    assert [v["version"] for v in shown["versions"]] == [1]
    assert shown["versions"][0]["run_id"] == trained.run_id

    moved = cli("models", "alias", "cancer:1", "staging")
    assert moved.exit_code == 0, moved.output
    assert "cancer version 1 (champion, staging)" in moved.stdout


def test_remote_predict_without_a_deployment_says_how_to_create_one(
    cli: RemoteCli, promoted, cancer_csv: Path, tmp_path: Path
):
    out = tmp_path / "out.csv"
    line = _one_line_error(cli("predict", "cancer@champion", cancer_csv, "-o", out), "deployment")
    assert "/deployments" in line
    assert not out.exists()


def test_remote_predict_goes_through_the_models_deployment(
    cli: RemoteCli, server: Server, promoted, cancer_csv: Path, tmp_path: Path
):
    r = server.http.post(
        f"/api/v1/workspaces/{server.workspace_id}/deployments",
        json={"slug": "cancer-champion", "model": "cancer", "alias": "champion"},
        headers=server.auth(),
    )
    assert r.status_code == 201, r.text
    out = tmp_path / "predictions.csv"
    result = cli("predict", "cancer@champion", cancer_csv, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"to {out} (cancer version 1)" in " ".join(result.stdout.split())
    predictions = pd.read_csv(out)
    assert len(predictions) == len(pd.read_csv(cancer_csv))
    assert set(predictions["prediction"]) <= {"malignant", "benign"}
    assert {"proba_benign", "proba_malignant"} <= set(predictions.columns)

    # NAME:VERSION finds the deployment following an alias that points at that version.
    again = cli.json("predict", "cancer:1", cancer_csv, "-o", tmp_path / "again.csv")
    assert again["model"]["version"] == 1
    assert pd.read_csv(tmp_path / "again.csv").equals(predictions)


def test_an_expired_access_token_is_refreshed_and_the_rotated_pair_saved(cli: RemoteCli):
    before = cli.saved()
    # A token the server rejects, as it rejects an expired one (401 unauthenticated).
    cli.credentials.write_text(json.dumps({**before, "access_token": "expired.not.valid"}))
    assert cli("runs", "list").exit_code == 0
    after = cli.saved()
    assert after["access_token"] not in (before["access_token"], "expired.not.valid")
    assert after["refresh_token"] != before["refresh_token"]
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    assert cli.json("whoami")["email"] == EMAIL


def test_server_errors_are_one_line_with_exit_2(cli: RemoteCli, cancer_csv: Path):
    _one_line_error(cli("runs", "show", "run_missing"), "not found")
    _one_line_error(cli("models", "show", "ghost"), "model 'ghost' not found")
    _one_line_error(cli("train", cancer_csv, "--target", "price"), "unknown target column")
    _one_line_error(cli("runs", "replay", "run_x"), "embedded mode only")


def test_local_forces_embedded_mode(cli: RemoteCli, trained):
    assert cli.json("--local", "runs", "list") == []


def test_an_unreachable_server_is_one_clear_line(tmp_path_factory, server: Server):
    remote = _cli(tmp_path_factory)
    remote.credentials.parent.mkdir(parents=True)
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    remote.credentials.write_text(json.dumps({"url": url, "access_token": "t"}))
    _one_line_error(remote("runs", "list"), "cannot connect", url)


def test_env_api_key_works_without_a_login(tmp_path_factory, server: Server, trained):
    key = server.http.post("/api/v1/api-keys", json={"name": "ci"}, headers=server.auth())
    assert key.status_code == 201, key.text
    remote = _cli(tmp_path_factory, MLSMITH_URL=server.url, MLSMITH_API_KEY=key.json()["key"])
    assert trained.run_id in [r["id"] for r in remote.json("runs", "list")]
    assert remote.json("whoami")["via"] == "api_key"
    assert not remote.credentials.exists()

    bad = _cli(tmp_path_factory, MLSMITH_URL=server.url, MLSMITH_API_KEY="mls_nope_nope")
    _one_line_error(bad("runs", "list"), "not logged in")


def test_logout_revokes_the_session_and_forgets_it(tmp_path_factory, server: Server):
    remote = _cli(tmp_path_factory)
    assert remote.login(server).exit_code == 0
    saved = remote.saved()

    result = remote("logout")
    assert result.exit_code == 0, result.output
    assert not remote.credentials.exists()
    _one_line_error(remote("whoami"), "not logged in")

    # The old session is revoked on the server: its refresh token no longer works.
    refused = server.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": saved["refresh_token"]}
    )
    assert refused.status_code == 401
    remote.credentials.write_text(json.dumps({**saved, "access_token": "expired.not.valid"}))
    _one_line_error(remote("runs", "list"), "not logged in: run `mlsmith login")


def test_login_with_a_wrong_password_stores_nothing(tmp_path_factory, server: Server):
    remote = _cli(tmp_path_factory)
    result = remote("login", "--url", server.url, "--email", EMAIL, "--password-stdin",
                    input="wrong password here\n")  # fmt: skip
    _one_line_error(result)
    assert not remote.credentials.exists()
    assert "wrong password here" not in result.output


def test_ctrl_c_cancels_the_remote_run_and_exits_130(cli: RemoteCli, server: Server, tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=10_000, n_features=20, random_state=0)
    csv = tmp_path / "slow.csv"
    pd.DataFrame(X).add_prefix("f").assign(y=y).to_csv(csv, index=False)
    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}}
    train = ["train", str(csv), "--target", "y", "--time-budget", "300"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsmith.cli", *train],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a bound for a hung process, not a performance check
        running: list = []
        while not running and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            running = cli.json("runs", "list", "--status", "running")
            time.sleep(0.3)
        assert running, "the run never started"

        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"run {running[0]['id']} cancelled" in stderr
    shown = server.http.get(f"/api/v1/runs/{running[0]['id']}", headers=server.auth())
    assert shown.json()["status"] == "cancelled"
