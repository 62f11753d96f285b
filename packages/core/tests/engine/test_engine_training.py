"""End-to-end training on small real datasets: each task reaches a sane score and predicts."""

from __future__ import annotations

import json

import numpy as np
from sklearn.model_selection import train_test_split

from mlsmith.core.engine import TrainConfig, fit_automl, predict_frame

FAST_CLASSIFIERS = ["logistic_regression", "lightgbm", "random_forest"]


def test_binary_classification_trains_and_predicts_held_out_rows(breast_cancer):
    train, test = train_test_split(breast_cancer, test_size=0.25, random_state=0)
    config = TrainConfig(target="target", folds=3, time_budget_s=30, candidates=FAST_CLASSIFIERS)
    result = fit_automl(train, config)

    assert result.task == "binary"
    assert result.metric == "roc_auc"
    assert result.stopped_reason == "completed"
    assert result.leaderboard[0].mean["accuracy"] > 0.9
    frame, warnings = predict_frame(
        result.best_pipeline, result.schema, test.drop(columns="target")
    )
    assert warnings == []
    assert list(frame.columns) == ["prediction", "proba_0", "proba_1"]
    assert (frame["prediction"].to_numpy() == test["target"].to_numpy()).mean() > 0.9
    np.testing.assert_allclose(frame[["proba_0", "proba_1"]].sum(axis=1), 1.0)


def test_multiclass_with_string_labels_predicts_the_original_labels(iris):
    config = TrainConfig(target="species", folds=3, time_budget_s=30, candidates=FAST_CLASSIFIERS)
    result = fit_automl(iris, config)

    assert result.task == "multiclass"
    assert result.metric == "f1_macro"
    assert result.leaderboard[0].mean["accuracy"] > 0.9
    assert result.schema["classes"] == ["setosa", "versicolor", "virginica"]
    assert list(result.best_pipeline.classes_) == ["setosa", "versicolor", "virginica"]
    frame, _ = predict_frame(result.best_pipeline, result.schema, iris.drop(columns="species"))
    assert set(frame["prediction"]) == {"setosa", "versicolor", "virginica"}
    assert (frame["prediction"] == iris["species"]).mean() > 0.9
    assert [c for c in frame.columns if c.startswith("proba_")] == [
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]


def test_regression_trains_to_a_useful_r2(diabetes):
    config = TrainConfig(
        target="target", folds=3, time_budget_s=30, candidates=["ridge", "lightgbm", "lasso"]
    )
    result = fit_automl(diabetes, config)

    assert result.task == "regression"
    assert result.metric == "rmse"
    best = result.leaderboard[0]
    assert best.mean["r2"] > 0.35  # a constant predictor scores 0, a broken pipeline below
    frame, _ = predict_frame(result.best_pipeline, result.schema, diabetes.drop(columns="target"))
    assert list(frame.columns) == ["prediction"]
    assert np.corrcoef(frame["prediction"], diabetes["target"])[0, 1] > 0.6


def test_every_row_reports_all_task_metrics_per_fold_and_is_json_safe(breast_cancer):
    config = TrainConfig(
        target="target", folds=3, time_budget_s=None, candidates=["logistic_regression", "sgd"]
    )
    result = fit_automl(breast_cancer, config)
    metrics = {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"}
    for row in result.leaderboard:
        assert set(row.fold_scores) == metrics
        assert set(row.mean) == metrics
    json.dumps([r.to_dict() for r in result.leaderboard], allow_nan=False)
    json.dumps(result.schema, allow_nan=False)
    json.dumps(result.manifest, allow_nan=False)


def test_manifest_records_split_candidates_config_and_versions(breast_cancer):
    config = TrainConfig(target="target", folds=3, seed=7, candidates=["logistic_regression"])
    manifest = fit_automl(breast_cancer, config).manifest
    assert manifest["seed"] == 7
    assert manifest["split_seed"] == 7
    assert manifest["folds"] == 3
    assert manifest["split_strategy"] == "StratifiedKFold"
    assert manifest["candidates"][0]["model"] == "logistic_regression"
    assert manifest["candidates"][0]["params"]["C"] == 1.0
    assert manifest["config"]["target"] == "target"
    assert set(manifest["versions"]) >= {"python", "numpy", "pandas", "scikit-learn", "lightgbm"}


def test_mixed_types_train_and_schema_lists_kinds_and_drops(mixed):
    config = TrainConfig(
        target="label", folds=3, time_budget_s=None, candidates=["logistic_regression", "lightgbm"]
    )
    result = fit_automl(mixed, config)
    kinds = {f["name"]: f["kind"] for f in result.schema["features"]}
    assert kinds == {
        "x": "numeric",
        "colour": "categorical",
        "city": "categorical",
        "signup": "datetime",
    }
    assert {d["name"] for d in result.schema["dropped"]} == {
        "customer_id",
        "code",
        "constant",
        "note",
    }
    assert result.leaderboard[0].mean["roc_auc"] > 0.85


def test_rows_with_missing_target_are_dropped_and_recorded(breast_cancer):
    df = breast_cancer.copy()
    df.loc[:9, "target"] = np.nan
    result = fit_automl(df, TrainConfig(target="target", folds=3, candidates=["lda"]))
    assert result.schema["rows_dropped_missing_target"] == 10
    assert result.manifest["rows"] == len(df) - 10
    assert result.task == "binary"


def test_folds_shrink_to_the_smallest_class_and_the_manifest_says_so(iris):
    small = iris.groupby("species").head(3).reset_index(drop=True)  # 3 rows per class
    result = fit_automl(small, TrainConfig(target="species", folds=5, candidates=["lda"]))
    assert result.manifest["folds"] == 3
    assert result.manifest["folds_requested"] == 5
    assert any("folds reduced" in note for note in result.manifest["notes"])
    assert len(result.leaderboard[0].fold_scores["accuracy"]) == 3
