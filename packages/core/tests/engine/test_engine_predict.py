"""Predicting on raw frames: schema checks, unseen categories, missing values, extra columns."""

from __future__ import annotations

import numpy as np
import pytest

from mlsmith.core.engine import TrainConfig, fit_automl, predict_frame
from mlsmith.core.errors import InvalidInput


@pytest.fixture
def trained(mixed):
    config = TrainConfig(
        target="label", folds=3, time_budget_s=None, candidates=["logistic_regression", "lightgbm"]
    )
    return fit_automl(mixed, config)


def test_predict_handles_unseen_categories_missing_values_and_bad_dates(trained, mixed):
    rows = mixed.drop(columns="label").head(4).copy()
    rows["colour"] = ["purple", None, "red", "blue"]  # unseen and missing categories
    rows["city"] = ["atlantis", "city_1", None, "city_2"]
    rows["x"] = [np.nan, 0.1, 2.0, None]
    rows["signup"] = ["not a date", None, "2024-05-01", "2024-06-01"]
    frame, warnings = predict_frame(trained.best_pipeline, trained.schema, rows)

    assert len(frame) == 4
    assert set(frame["prediction"]) <= {"yes", "no"}
    assert frame[["proba_no", "proba_yes"]].notna().all().all()
    assert warnings == []


def test_extra_columns_are_ignored_and_reported(trained, mixed):
    rows = mixed.drop(columns="label").head(3).assign(surprise=1, other="x")
    frame, warnings = predict_frame(trained.best_pipeline, trained.schema, rows)
    assert len(frame) == 3
    assert len(warnings) == 1
    assert "surprise" in warnings[0]
    assert "other" in warnings[0]


def test_missing_feature_columns_raise_invalid_input_naming_them(trained, mixed):
    rows = mixed.drop(columns=["label", "colour", "x"]).head(3)
    with pytest.raises(InvalidInput, match="colour") as err:
        predict_frame(trained.best_pipeline, trained.schema, rows)
    assert set(err.value.details["missing"]) == {"colour", "x"}


def test_columns_dropped_at_training_may_be_absent_at_prediction(trained, mixed):
    rows = mixed[["x", "colour", "city", "signup"]].head(3)
    frame, warnings = predict_frame(trained.best_pipeline, trained.schema, rows)
    assert len(frame) == 3
    assert warnings == []


def test_numbers_sent_as_text_predict_like_numbers(trained, mixed):
    rows = mixed.drop(columns="label").head(5)
    as_text = rows.assign(x=rows["x"].astype(str))
    plain, _ = predict_frame(trained.best_pipeline, trained.schema, rows)
    texty, _ = predict_frame(trained.best_pipeline, trained.schema, as_text)
    np.testing.assert_allclose(plain["proba_yes"], texty["proba_yes"])
