"""Serving benchmark: predict latency and throughput of a deployment on a live server.

Trains a model on scikit-learn's bundled breast cancer data (embedded API, in a temporary data
dir), starts the real server (``uvicorn --factory mlsmith.server.app:create_app``) as a
subprocess on 127.0.0.1 and a free port, bootstraps it, deploys the model (``workspace`` auth,
bearer token), then sends predict calls with httpx at concurrency 1, 8 and 32 for single-row and
1,000-row JSON bodies. Each cell is bounded by a request count and a time cap. Loopback only.

    uv run python bench/serving.py
    uv run python bench/serving.py --mlflow /tmp/mlflow-venv/bin/python   # + mlflow models serve

With ``--mlflow PY`` (a Python of a separate venv where ``pip install mlflow scikit-learn``
was run), the same model family (impute -> scale -> logistic regression) is saved with
``mlflow.sklearn`` and served by ``mlflow models serve --env-manager local -w 1``, then measured
the same way against ``/invocations``. The client runs on the same host as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

CONCURRENCY = (1, 8, 32)
ROWS = (1, 1000)
PASSWORD = "bench-password-not-secret"


@dataclass
class Cell:
    server: str
    rows: int
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"| {self.server} | {self.rows} | {self.concurrency} | {self.requests} | {self.errors} "
            f"| {self.p50:.1f} | {self.p95:.1f} | {self.p99:.1f} | {self.rps:.0f} "
            f"| {self.rps * self.rows:,.0f} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server not ready after {timeout_s}s: {url}")


def load_data() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


async def run_cell(
    url: str, headers: dict, body: bytes, concurrency: int, max_requests: int, max_s: float
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        for _ in range(min(concurrency, 4)):  # warm up: connections, pipeline cache, lookups
            await client.post(url, content=body)
        start = time.perf_counter()
        deadline = start + max_s

        async def worker() -> None:
            nonlocal errors, sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                r = await client.post(url, content=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, errors, elapsed


def measure(server: str, url: str, headers: dict, bodies: dict[int, bytes], args) -> list[Cell]:
    cells = []
    for rows in ROWS:
        for conc in CONCURRENCY:
            n = args.requests_single if rows == 1 else args.requests_batch
            lat, errors, secs = asyncio.run(
                run_cell(url, headers, bodies[rows], conc, n, args.max_seconds)
            )
            ms = np.array(lat) * 1000
            cell = Cell(
                server, rows, conc, len(lat), errors, secs,
                *(float(np.percentile(ms, q)) for q in (50, 95, 99)),
            )  # fmt: skip
            print(cell.line(), flush=True)
            cells.append(cell)
    return cells


def mlsmith_bodies(df: pd.DataFrame) -> dict[int, bytes]:
    import json

    X = df.drop(columns="target")
    big = X.sample(1000, replace=True, random_state=0)
    return {
        1: json.dumps({"rows": X.head(1).to_dict(orient="records")}).encode(),
        1000: json.dumps({"rows": big.to_dict(orient="records")}).encode(),
    }


def bench_mlsmith(args, df: pd.DataFrame) -> list[Cell]:
    from mlsmith.core.api import Platform

    with tempfile.TemporaryDirectory(prefix="mlsmith-bench-") as tmp:
        t0 = time.perf_counter()
        with Platform.open(data_dir=tmp) as p:
            options = {"time_budget_s": args.budget, "folds": 3}
            if args.model:
                options["candidates"] = [args.model]
            run = p.train(df, "target", **options)
            p.promote(run, "cancer", alias="champion")
            best = run.best_model
        print(f"# trained {best} in {time.perf_counter() - t0:.1f}s", flush=True)
        port = free_port()
        env = {**os.environ, "MLSMITH_DATA_DIR": tmp}
        cmd = [
            sys.executable, "-m", "uvicorn", "--factory", "mlsmith.server.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
        log = open(args.server_log, "w") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/healthz", proc)
            api = f"{base}/api/v1"
            boot = httpx.post(
                f"{api}/setup/bootstrap",
                json={"email": "bench@example.com", "password": PASSWORD},
            )
            boot.raise_for_status()
            ws = boot.json()["workspace"]["id"]
            login = httpx.post(
                f"{api}/auth/login", json={"email": "bench@example.com", "password": PASSWORD}
            )
            login.raise_for_status()
            headers = {
                "Authorization": f"Bearer {login.json()['access_token']}",
                "Content-Type": "application/json",
            }
            r = httpx.post(
                f"{api}/workspaces/{ws}/deployments",
                json={"slug": "cancer", "model": "cancer"},
                headers=headers,
            )
            r.raise_for_status()
            cells = measure(
                f"mlsmith ({best})",
                f"{api}/deployments/cancer/predict",
                headers,
                mlsmith_bodies(df),
                args,
            )
            stats = httpx.get(f"{api}/deployments/cancer/stats", headers=headers).json()
            print(
                f"# server-side stats: {stats['requests']} requests, {stats['errors']} errors, "
                f"p50 {stats['latency_ms']['p50']} ms, p95 {stats['latency_ms']['p95']} ms "
                f"(last {stats['window']} calls)",
                flush=True,
            )
            return cells
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


MLFLOW_SAVE = textwrap.dedent(
    """
    import sys
    import mlflow.sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = load_breast_cancer(as_frame=True).frame
    X, y = df.drop(columns="target"), df["target"]
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(X, y)
    mlflow.sklearn.save_model(
        model, sys.argv[1], serialization_format="cloudpickle", input_example=X.head(2)
    )
    """
)


def bench_mlflow(args, df: pd.DataFrame) -> list[Cell]:
    import json

    py = Path(args.mlflow)
    mlflow_cli = py.parent / "mlflow"
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        model_dir = Path(tmp) / "model"
        subprocess.run([str(py), "-c", MLFLOW_SAVE, str(model_dir)], check=True, cwd=tmp)
        port = free_port()
        cmd = [
            str(mlflow_cli), "models", "serve", "-m", str(model_dir), "-h", "127.0.0.1",
            "-p", str(port), "-w", "1", "--env-manager", "local",
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{py.parent}:{os.environ.get('PATH', '')}"}
        env.pop("VIRTUAL_ENV", None)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/ping", proc)
            X = df.drop(columns="target")
            big = X.sample(1000, replace=True, random_state=0)
            bodies = {
                1: json.dumps({"dataframe_records": X.head(1).to_dict(orient="records")}).encode(),
                1000: json.dumps({"dataframe_records": big.to_dict(orient="records")}).encode(),
            }
            headers = {"Content-Type": "application/json"}
            return measure(
                "mlflow models serve (logistic)", f"{base}/invocations", headers, bodies, args
            )
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return f"nproc={os.cpu_count()}, {cpu!r}, {ram}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=15.0, help="training time budget (s)")
    ap.add_argument(
        "--model",
        default="logistic_regression",
        help="engine candidate to train ('' for the full AutoML search)",
    )
    ap.add_argument("--requests-single", type=int, default=2000, help="cap per 1-row cell")
    ap.add_argument("--requests-batch", type=int, default=200, help="cap per 1,000-row cell")
    ap.add_argument("--max-seconds", type=float, default=20.0, help="time cap per cell")
    ap.add_argument("--server-log", help="write the mlsmith server's output to this file")
    ap.add_argument("--mlflow", help="python of a venv with mlflow installed (optional)")
    args = ap.parse_args()

    print(f"# {time.strftime('%Y-%m-%d')} {machine()}", flush=True)
    print("| server | rows/request | concurrency | requests | errors | p50 ms | p95 ms | p99 ms "
          "| requests/s | rows/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    df = load_data()
    bench_mlsmith(args, df)
    if args.mlflow:
        bench_mlflow(args, df)


if __name__ == "__main__":
    main()
