"""End-to-end helpers: the real ``mlsmith`` console script in a subprocess, on a temp data dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def mlsmith_cmd() -> list[str]:
    exe = shutil.which("mlsmith", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "mlsmith.cli.main"]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
    e["MLSMITH_DATA_DIR"] = str(tmp_path / "data")
    return e


@pytest.fixture
def cli(env, tmp_path):
    def run(
        *args: str, check: bool = True, timeout: float = 300, **kw
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*mlsmith_cmd(), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"mlsmith {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    return run


@pytest.fixture
def breast_cancer_csv(tmp_path) -> Path:
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame
    path = tmp_path / "bc.csv"
    df.to_csv(path, index=False)
    return path
