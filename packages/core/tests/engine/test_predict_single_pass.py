"""Serving computes labels and probabilities in one pass; it must agree with predict/predict_proba."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from mlsmith.core.engine import TrainConfig, fit_automl, predict_frame
from mlsmith.core.engine.predict import labels_and_proba


@pytest.mark.parametrize("candidates", [["logistic_regression"], None])
def test_single_pass_labels_and_probabilities_match_the_two_pass_ones(candidates):
    df = load_iris(as_frame=True).frame
    df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    config = TrainConfig(target="target", folds=3, time_budget_s=10, candidates=candidates)
    result = fit_automl(df, config)
    pipe, X = result.best_pipeline, df.drop(columns=["target"])
    labels, proba = labels_and_proba(pipe, X)
    assert (labels == pipe.predict(X)).all()
    np.testing.assert_allclose(proba, pipe.predict_proba(X))
    frame, _ = predict_frame(pipe, result.schema, X)
    assert (frame["prediction"].to_numpy() == labels).all()
    np.testing.assert_allclose(frame[[f"proba_{c}" for c in pipe.classes_]].to_numpy(), proba)
