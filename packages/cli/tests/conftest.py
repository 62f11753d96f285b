"""Shared fixtures: a CLI invoker bound to a data dir, small real datasets, one trained run.

Everything runs on the real local backends (SQLite, files, Fernet, thread compute) and the real
engine with tiny time budgets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mlsmith.cli.main import app

FAST = ["--time-budget", "5", "--folds", "3"]


@dataclass
class Cli:
    data_dir: Path

    def __call__(self, *args: object, input: str | None = None) -> Result:
        argv = ["--data-dir", str(self.data_dir), *map(str, args)]
        return CliRunner().invoke(app, argv, input=input)

    def json(self, *args: object) -> object:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def breast_cancer_sample(n: int = 200, seed: int = 0):
    """A stratified-enough random sample of the real breast cancer data, labels as words."""
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame.sample(n=n, random_state=seed)
    df["target"] = df["target"].map({0: "malignant", 1: "benign"})
    return df.reset_index(drop=True)


@pytest.fixture(autouse=True)
def no_server_login(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test sees the developer's own `mlsmith login` or MLSMITH_URL/MLSMITH_API_KEY."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    for name in ("MLSMITH_URL", "MLSMITH_API_KEY", "MLSMITH_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


@pytest.fixture(scope="session")
def cancer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "cancer.csv"
    breast_cancer_sample().to_csv(path, index=False)
    return path


@dataclass
class Trained:
    cli: Cli
    csv: Path
    run: dict


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, cancer_csv: Path) -> Trained:
    """One real training run shared by the read-only flow tests (training is the slow part)."""
    cli = Cli(tmp_path_factory.mktemp("trained") / "data")
    result = cli("train", cancer_csv, "--target", "target", *FAST, "--json")
    assert result.exit_code == 0, result.output
    return Trained(cli, cancer_csv, json.loads(result.stdout))
