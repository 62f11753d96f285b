"""Queue benchmark: job dispatch latency and runs per minute for the thread, process and Celery
computes, through the real path a server uses (queue port -> worker loop -> compute -> task).

For each compute: a fresh local data dir (SQLite, files, Fernet), ``MLSMITH_WORKERS=2`` (two tasks
at once; for Celery one ``mlsmith worker --concurrency 2`` subprocess on the local Redis, with a
queue and key prefix of its own), and the worker loop of ``mlsmith serve`` (``Worker.serve``, poll
interval 0.2 s) in a thread. Then:

- dispatch latency: one trivial job at a time is enqueued on the queue port and timed until the
  task starts (the file it writes is stamped at its first instruction); p50 and p95 over N jobs;
- trivial jobs per minute: N trivial jobs enqueued at once, timed until the last one started;
- tiny real runs per minute: R training runs (breast cancer, 3 folds, logistic regression,
  2 s budget) started at once, timed until all ended; plus their mean enqueue -> started_at.
  Two untimed runs go first, so that long-lived pool processes (thread, celery) have imported the
  engine; a process-compute task is a fresh process and pays that import every time.

The trivial task is ``mlsmith.core.testing.tasks:write_data_dir`` registered for the benchmark as
job kind ``bench.start`` (its one argument, the file to write, is the job's payload).

    uv run python bench/queue.py            # needs Redis on 127.0.0.1:6379 for the celery row
    uv run python bench/queue.py --computes thread process
"""

# ruff: noqa: E402 - sys.path is fixed before the other imports, on purpose
from __future__ import annotations

import os
import sys

# Run as a script, this file's directory comes first on sys.path, where this file would shadow the
# standard library's ``queue`` (imported by multiprocessing and joblib): drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import platform
import secrets
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REDIS = os.environ.get("MLSMITH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TRIVIAL = "mlsmith.core.testing.tasks:write_data_dir"
RUN_OPTIONS = {"folds": 3, "time_budget_s": 2, "candidates": ["logistic_regression"]}


@dataclass
class Row:
    compute: str
    lat_p50_ms: float
    lat_p95_ms: float
    trivial_per_min: float
    runs_per_min: float
    run_dispatch_ms: float
    runs_ok: str

    def line(self) -> str:
        return (
            f"| {self.compute} | {self.lat_p50_ms:.0f} | {self.lat_p95_ms:.0f} | "
            f"{self.trivial_per_min:.0f} | {self.runs_per_min:.1f} | {self.run_dispatch_ms:.0f} | "
            f"{self.runs_ok} |"
        )


HEADER = (
    "| compute | dispatch p50 ms | dispatch p95 ms | trivial jobs/min | tiny runs/min | "
    "run enqueue->start ms | runs ok |\n|---|---|---|---|---|---|---|"
)


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.002)


def _start_celery_worker(env: dict[str, str], tmp: Path) -> subprocess.Popen:
    log = open(tmp / "celery-worker.log", "wb")  # noqa: SIM115 - the worker writes to it
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlsmith.cli",
            "worker",
            "--concurrency",
            "2",
            "--hostname",
            f"bench-{secrets.token_hex(3)}@%h",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc


def bench(compute: str, n_latency: int, n_trivial: int, n_runs: int) -> Row:
    from sklearn.datasets import load_breast_cancer

    from mlsmith.core.api import Platform
    from mlsmith.core.domain import RunStatus
    from mlsmith.core.services import datasets, training
    from mlsmith.core.services import worker as worker_mod

    worker_mod.TASKS["bench.start"] = (TRIVIAL, "path")
    tmp = Path(tempfile.mkdtemp(prefix=f"mlsmith-bench-{compute}-"))
    tag = secrets.token_hex(4)
    settings: dict = {"data_dir": tmp / "data", "workers": 2, "compute": compute}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    env.update(MLSMITH_DATA_DIR=str(tmp / "data"), MLSMITH_WORKERS="2")
    celery_proc = None
    if compute == "celery":
        opts = {"queue": f"bench-{tag}", "status_prefix": f"bench-{tag}:"}
        settings |= {"compute": f"celery+{REDIS}", "compute_options": opts}
        env.update(
            MLSMITH_COMPUTE=f"celery+{REDIS}",
            MLSMITH_COMPUTE_OPTIONS__QUEUE=opts["queue"],
            MLSMITH_COMPUTE_OPTIONS__STATUS_PREFIX=opts["status_prefix"],
        )
    plat = Platform.open(**settings)
    backends = plat.backends
    stop = threading.Event()
    loop = threading.Thread(target=worker_mod.Worker(backends).serve, args=(stop,), daemon=True)
    try:
        if compute == "celery":
            celery_proc = _start_celery_worker(env, tmp)
        loop.start()

        def trivial(i: int) -> tuple[Path, float]:
            path = tmp / f"t-{i}"
            t0 = time.time()
            backends.queue.enqueue("bench.start", {"path": str(path)})
            return path, t0

        # Warm-up (process/celery children import and build their backends once).
        for i in range(3):
            path, _ = trivial(-1 - i)
            _wait(path.exists, 120, "warm-up task")
        time.sleep(0.5)

        latencies = []
        for i in range(n_latency):
            path, t0 = trivial(i)
            _wait(path.exists, 60, "trivial task")
            latencies.append((path.stat().st_mtime - t0) * 1000)
            time.sleep(0.3)  # let the loop settle the job before the next one
        q = statistics.quantiles(latencies, n=20)

        start = time.time()
        paths = [trivial(10_000 + i)[0] for i in range(n_trivial)]
        _wait(lambda: all(p.exists() for p in paths), 600, "trivial burst")
        last = max(p.stat().st_mtime for p in paths)
        trivial_per_min = n_trivial / (last - start) * 60

        frame = load_breast_cancer(as_frame=True).frame
        ds = datasets.ingest_frame(backends, plat.scope, frame)

        def get(rid: str):
            with backends.metadata.unit_of_work(read_only=True) as uow:
                return uow.runs.get(rid)

        # Warm-up: a long-lived pool process (thread, celery) imports the engine once.
        warm = [
            training.start_run(backends, plat.scope, ds.id, "target", seed=99 + i, **RUN_OPTIONS)
            for i in range(2)
        ]
        _wait(lambda: all(get(r.id).status.terminal for r in warm), 900, "warm-up runs")
        time.sleep(0.5)
        start_m = time.monotonic()
        runs = [
            training.start_run(backends, plat.scope, ds.id, "target", seed=i, **RUN_OPTIONS)
            for i in range(n_runs)
        ]

        _wait(lambda: all(get(r.id).status.terminal for r in runs), 900, "tiny runs")
        elapsed = time.monotonic() - start_m
        done = [get(r.id) for r in runs]
        ok = sum(r.status is RunStatus.SUCCEEDED for r in done)
        dispatch = [
            (r.started_at - r.created_at).total_seconds() * 1000 for r in done if r.started_at
        ]
        return Row(
            compute,
            statistics.median(latencies),
            q[18],
            trivial_per_min,
            n_runs / elapsed * 60,
            statistics.mean(dispatch) if dispatch else float("nan"),
            f"{ok}/{n_runs}",
        )
    finally:
        stop.set()
        loop.join(30)
        plat.close()
        if celery_proc is not None:
            os.killpg(celery_proc.pid, signal.SIGTERM)
            try:
                celery_proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(celery_proc.pid, signal.SIGKILL)
            _clean_redis(tag)


def _clean_redis(tag: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"bench-{tag}*")) + list(client.scan_iter(f"*bench-{tag}*"))
    if keys:
        client.delete(*set(keys))
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--computes", nargs="+", default=["thread", "process", "celery"])
    parser.add_argument("--latency-jobs", type=int, default=30)
    parser.add_argument("--trivial-jobs", type=int, default=60)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    rows = []
    for compute in args.computes:
        print(f"... {compute}", file=sys.stderr, flush=True)
        rows.append(bench(compute, args.latency_jobs, args.trivial_jobs, args.runs))
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"workers=2; {args.latency_jobs} latency jobs, {args.trivial_jobs} trivial jobs, "
        f"{args.runs} tiny runs ({RUN_OPTIONS})"
    )
    print(HEADER)
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
