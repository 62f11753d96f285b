"""The preprocessing half of every candidate pipeline.

It lives inside the fitted pipeline, so predicting on a raw frame (strings for numbers, unseen
categories, missing values, date strings) goes through exactly what training saw.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from mlsmith.core.engine.inference import CATEGORICAL, DATETIME, NUMERIC, ColumnPlan

DATE_PARTS = ("year", "month", "day", "day_of_week", "hour")
MISSING_CATEGORY = "__missing__"


class FrameCoercer(TransformerMixin, BaseEstimator):
    """Give each planned column one stable representation: floats, strings, or date parts.

    Stateless on purpose: what the column *is* was decided by inference; this only enforces it, so a
    prediction frame whose dtypes drifted (e.g. numbers read as text from CSV) still works.
    """

    def __init__(self, numeric=(), categorical=(), datetime=()):
        self.numeric = numeric
        self.categorical = categorical
        self.datetime = datetime

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        out: dict[str, pd.Series] = {}
        for col in self.numeric:
            out[col] = pd.to_numeric(X[col], errors="coerce").astype(float)
        for col in self.categorical:
            s = X[col]
            text = s.astype(str).to_numpy(dtype=object)
            text[s.isna().to_numpy()] = np.nan  # keep missing as missing, not the string "nan"
            out[col] = pd.Series(text, index=X.index, dtype=object)
        for col in self.datetime:
            stamps = _to_datetime(X[col])
            for part in DATE_PARTS:
                out[f"{col}__{part}"] = getattr(stamps.dt, part).astype(float)
        return pd.DataFrame(out, index=X.index)

    def output_columns(self) -> dict[str, list[str]]:
        parts = [f"{c}__{p}" for c in self.datetime for p in DATE_PARTS]
        return {NUMERIC: [*self.numeric, *parts], CATEGORICAL: list(self.categorical)}


def _to_datetime(s: pd.Series) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = pd.to_datetime(s.astype(object), errors="coerce", format="mixed", utc=True)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s


def build_preprocessor(plan: ColumnPlan, task: str, scale: bool, seed: int) -> Pipeline:
    """Coerce -> impute -> encode (-> scale for distance/linear models) in one ColumnTransformer."""
    coercer = FrameCoercer(
        numeric=plan.columns(NUMERIC),
        categorical=plan.columns(CATEGORICAL),
        datetime=plan.columns(DATETIME),
    )
    cols = coercer.output_columns()
    low_card = [c for c in cols[CATEGORICAL] if c not in plan.high_cardinality]
    high_card = [c for c in cols[CATEGORICAL] if c in plan.high_cardinality]
    scaler = [("scale", StandardScaler())] if scale else []
    transformers = []
    if cols[NUMERIC]:
        # The indicator keeps "was missing" as signal; it only appears for columns with gaps in fit.
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median", add_indicator=True)), *scaler]
        )
        transformers.append(("numeric", numeric, cols[NUMERIC]))
    if low_card:
        # Missing becomes its own category (the one-hot form of a missing indicator); rare and
        # unseen categories share the "infrequent" column instead of crashing or being dropped.
        onehot = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                (
                    "encode",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=3,
                        sparse_output=False,
                        dtype=np.float32,
                    ),
                ),
            ]
        )
        transformers.append(("onehot", onehot, low_card))
    if high_card:
        target_type = "continuous" if task == "regression" else task
        encoded = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                ("encode", TargetEncoder(target_type=target_type, random_state=seed)),
                *scaler,
            ]
        )
        transformers.append(("target_encoded", encoded, high_card))
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("coerce", coercer), ("columns", columns)])
