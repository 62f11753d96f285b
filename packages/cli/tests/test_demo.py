"""`mlsmith demo`: train -> promote -> predict on held-out rows of the real breast cancer data."""

from __future__ import annotations

import re

import pandas as pd


def test_demo_promotes_the_best_run_and_predicts_held_out_rows(cli):
    result = cli("demo", "--time-budget", "5")

    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(cli.data_dir / "demo_predictions.csv")
    assert list(predictions.columns) == ["prediction", "proba_benign", "proba_malignant"]
    assert len(predictions) == 114  # 20% of the 569 rows, never seen by the run
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy > 0.85
    assert str((cli.data_dir / "demo_predictions.csv").resolve()) in result.stdout
    (model,) = cli.json("models", "list")
    assert model["name"] == "breast-cancer"
    assert model["aliases"] == {"champion": 1}
    run = cli.json("runs", "list")[0]
    assert run["status"] == "succeeded"
    assert run["id"] in result.stdout
