"""Cancelling a training run driven by a real `mlsmith train` process: from another terminal
(`mlsmith runs cancel`) and by Ctrl-C (SIGINT). Both end with the run recorded as cancelled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAIT_S = 120  # an upper bound for a hung process, not a performance expectation


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("mlsmith")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlsmith.cli"]


@pytest.fixture(scope="module")
def slow_csv(tmp_path_factory) -> Path:
    """Big enough that a run with a long budget is still training when it is cancelled."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=30_000, n_features=40, n_informative=20, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(y=y)
    path = tmp_path_factory.mktemp("slow") / "slow.csv"
    df.to_csv(path, index=False)
    return path


def _start_training(cli, csv: Path, compute: str) -> subprocess.Popen:
    env = {**os.environ, "MLSMITH_COMPUTE": compute}
    args = ["--data-dir", cli.data_dir, "train", csv, "--target", "y", "--time-budget", "300"]
    return subprocess.Popen(
        [*_console_script(), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_running(cli, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"train exited early ({proc.returncode}): {proc.communicate()}")
        if (cli.data_dir / "mlsmith.db").exists():
            running = cli.json("runs", "list", "--status", "running")
            if running:
                return running[0]["id"]
        time.sleep(0.3)
    proc.kill()
    pytest.fail("the run never started")


@pytest.mark.parametrize("compute", ["thread", "process"])
def test_runs_cancel_from_another_terminal_stops_the_training(cli, slow_csv, compute):
    proc = _start_training(cli, slow_csv, compute)
    run_id = _wait_until_running(cli, proc)

    result = cli("runs", "cancel", run_id)

    assert result.exit_code == 0, result.output
    assert "cancellation requested" in result.stdout
    _, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 1
    assert f"error: run {run_id} was cancelled" in stderr
    assert "Traceback" not in stderr
    assert cli.json("runs", "show", run_id)["status"] == "cancelled"


def test_ctrl_c_cancels_the_run_and_exits_130(cli, slow_csv):
    proc = _start_training(cli, slow_csv, "thread")
    run_id = _wait_until_running(cli, proc)

    proc.send_signal(signal.SIGINT)

    _, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert cli.json("runs", "show", run_id)["status"] == "cancelled"
