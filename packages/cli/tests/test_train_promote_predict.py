"""The main flow on real local backends: train -> runs list/show -> promote -> models -> predict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def promoted(trained):
    """The shared run registered as model `cancer` version 1 with alias `champion`."""
    result = trained.cli(
        "promote", trained.run["id"], "--name", "cancer", "--alias", "champion", "--json"
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_json_reports_a_succeeded_run_with_a_ranked_leaderboard(trained):
    run = trained.run
    assert run["status"] == "succeeded"
    assert run["task"] == "binary"
    assert run["metric"] == "roc_auc"  # the binary default, resolved by the run
    ok = [row for row in run["leaderboard"] if row["status"] == "ok"]
    assert ok, run["leaderboard"]
    assert run["best_model"] == ok[0]["model"]
    assert 0.5 < run["best_score"] <= 1.0
    assert run["created_at"].startswith("20")  # datetimes as ISO strings


def test_train_prints_the_leaderboard_run_id_and_promote_hint(cli, cancer_csv: Path):
    result = cli("train", cancer_csv, "--target", "target", "--time-budget", "3", "--folds", "2")
    assert result.exit_code == 0, result.output
    assert "roc_auc ± std" in result.stdout
    assert "succeeded" in result.stdout
    (run,) = cli.json("runs", "list")
    assert f"mlsmith promote {run['id']} --name NAME" in result.stdout


def test_runs_list_and_show_describe_the_run(trained):
    listed = trained.cli.json("runs", "list")
    assert [r["id"] for r in listed] == [trained.run["id"]]
    assert trained.cli.json("runs", "list", "--status", "failed") == []

    shown = trained.cli.json("runs", "show", trained.run["id"])
    names = {a["name"] for a in shown["artifacts"]}
    assert {"leaderboard.json", "manifest.json", "schema.json"} <= names
    assert all(len(a["sha256"]) == 64 for a in shown["artifacts"])
    assert shown["leaderboard"] == trained.run["leaderboard"]

    text = trained.cli("runs", "show", trained.run["id"])
    assert text.exit_code == 0
    assert shown["artifacts"][0]["sha256"] in text.stdout  # never truncated


def test_promote_prints_name_version_and_aliases(trained, promoted):
    assert promoted["name"] == "cancer"
    assert promoted["version"] == 1
    assert promoted["aliases"] == ["champion"]
    assert promoted["run_id"] == trained.run["id"]
    again = trained.cli("promote", trained.run["id"], "--name", "cancer")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "cancer version 2"


def test_models_list_show_and_alias(trained, promoted):
    (model,) = trained.cli.json("models", "list")
    assert model["name"] == "cancer"
    assert model["aliases"]["champion"] == 1

    moved = trained.cli("models", "alias", "cancer:1", "stable")
    assert moved.exit_code == 0, moved.output
    assert moved.stdout.strip().startswith("cancer version 1 (")
    shown = trained.cli.json("models", "show", "cancer")
    v1 = next(v for v in shown["versions"] if v["version"] == 1)
    assert set(v1["aliases"]) >= {"champion", "stable"}
    assert v1["run_id"] == trained.run["id"]
    assert v1["lineage"]["best_model"] == trained.run["best_model"]
    assert "cancer" in trained.cli("models", "show", "cancer").stdout


def test_predict_writes_prediction_and_class_probabilities(trained, promoted, tmp_path):
    rows = pd.read_csv(trained.csv).head(12)
    inputs = rows.drop(columns=["target"]).assign(note="extra")
    inputs.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"

    result = trained.cli("predict", "cancer@champion", tmp_path / "in.csv", "-o", out)

    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["prediction", "proba_benign", "proba_malignant"]
    assert len(frame) == 12
    assert set(frame["prediction"]) <= {"benign", "malignant"}
    assert frame[["proba_benign", "proba_malignant"]].sum(axis=1).round(6).eq(1).all()
    assert "note" in result.stderr  # the ignored extra column is a warning, not an error
    assert "wrote 12 predictions" in result.stdout
    assert "cancer version 1" in result.stdout


def test_predict_json_summary_and_version_reference(trained, promoted, tmp_path):
    pd.read_csv(trained.csv).head(3).drop(columns=["target"]).to_csv(
        tmp_path / "in.csv", index=False
    )
    summary = trained.cli.json("predict", "cancer:1", tmp_path / "in.csv", "-o", tmp_path / "o.csv")
    assert summary["rows"] == 3
    assert summary["model"]["version"] == 1
    assert summary["columns"][0] == "prediction"


def test_a_promoted_run_cannot_be_deleted(trained, promoted):
    result = trained.cli("runs", "delete", trained.run["id"], "--yes")
    assert result.exit_code == 2
    assert "backs model 'cancer'" in result.stderr
    assert trained.cli.json("runs", "show", trained.run["id"])["status"] == "succeeded"


def test_replay_reproduces_the_recorded_scores(trained):
    result = trained.cli("runs", "replay", trained.run["id"])
    assert result.exit_code == 0, result.output
    assert "MISMATCH" not in result.stdout
    assert result.stdout.strip().endswith("match")
