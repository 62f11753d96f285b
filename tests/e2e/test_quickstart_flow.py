"""The embedded flow through the real console script: demo, train -> promote -> predict, tampering."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mlsmith.core.api import Platform
from mlsmith.core.services import registry, runs

pytestmark = pytest.mark.slow


def test_demo_prints_a_leaderboard_and_writes_predictions(cli, env):
    out = cli("demo", "--time-budget", "10").stdout
    assert "logistic_regression" in out or "lightgbm" in out or "random_forest" in out
    pred = Path(env["MLSMITH_DATA_DIR"]) / "demo_predictions.csv"
    rows = list(csv.DictReader(pred.open()))
    assert rows and {"prediction", "proba_benign", "proba_malignant"} <= set(rows[0])


def test_tampered_pipeline_is_refused_at_predict_time(cli, env, tmp_path, breast_cancer_csv):
    cli("train", str(breast_cancer_csv), "--target", "target", "--time-budget", "5", "--folds", "3")
    with Platform.open(data_dir=env["MLSMITH_DATA_DIR"]) as p:
        run = runs.list_runs(p.backends, p.scope)[0]
        cli("promote", run.id, "--name", "bc")
        before = cli("predict", "bc", str(breast_cancer_csv), "-o", str(tmp_path / "ok.csv"))
        assert before.returncode == 0
        rv = registry.resolve(p.backends, p.scope, "bc")
        with p.backends.metadata.unit_of_work() as uow:
            pipe = next(
                a for a in uow.artifacts.list(rv.version.run_id) if a.name.startswith("pipeline.")
            )
    path = Path(env["MLSMITH_DATA_DIR"]) / "artifacts" / pipe.storage_key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    refused = cli(
        "predict", "bc", str(breast_cancer_csv), "-o", str(tmp_path / "bad.csv"), check=False
    )
    assert refused.returncode == 2
    assert "does not match" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "bad.csv").exists()
