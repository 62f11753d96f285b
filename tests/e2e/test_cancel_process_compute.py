"""Cancelling a run on `process` compute kills the training process for real."""

from __future__ import annotations

import subprocess
import time

import psutil
import pytest

from mlsmith.core.api import Platform
from mlsmith.core.domain import RunStatus
from mlsmith.core.services import runs

from .conftest import mlsmith_cmd

pytestmark = pytest.mark.slow


@pytest.fixture
def big_csv(tmp_path):
    # Large enough that training lasts far longer than the test waits for it.
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=30_000, n_features=40, n_informative=20, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = y
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    return path


def _wait(cond, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_runs_cancel_stops_process_compute_cpu_and_ends_cancelled(cli, env, tmp_path, big_csv):
    env["MLSMITH_COMPUTE"] = "process"
    cli("init")
    trainer = subprocess.Popen(
        [*mlsmith_cmd(), "train", str(big_csv), "--target", "label", "--time-budget", "600"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    platform = Platform.open(data_dir=env["MLSMITH_DATA_DIR"])
    try:
        run = _wait(
            lambda: next(
                (
                    r
                    for r in runs.list_runs(platform.backends, platform.scope)
                    if r.status is RunStatus.RUNNING and r.stage not in ("loading", "queued")
                ),
                None,
            ),
            120,
            "the run to start training",
        )
        workers = [p for p in psutil.Process(trainer.pid).children(recursive=True)]
        assert workers, "process compute must run the job in a child process"
        busy = _wait(lambda: sum(p.cpu_percent(interval=0.2) for p in workers), 30, "CPU use")
        assert busy > 10

        cli("runs", "cancel", run.id)
        cancelled_at = time.monotonic()

        def stopped() -> bool:
            alive = [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            return not alive

        _wait(stopped, 2.0, "the training processes to stop within 2 s of the cancel")
        stop_latency = time.monotonic() - cancelled_at

        trainer.wait(timeout=60)
        final = runs.get(platform.backends, platform.scope, run.id)
        assert final.status is RunStatus.CANCELLED, (
            final.status,
            final.error,
            trainer.stderr.read(),
        )
        print(f"training processes gone {stop_latency:.2f}s after `runs cancel` returned")
    finally:
        if trainer.poll() is None:
            trainer.kill()
        platform.close()
