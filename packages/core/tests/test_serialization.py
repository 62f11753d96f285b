"""Pipelines are stored with skops under a type allowlist; anything else is signed cloudpickle."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mlsmith.core import serialization
from mlsmith.core.errors import IntegrityError

X = np.arange(40, dtype=float).reshape(20, 2)
y = np.array([0, 1] * 10)


def test_a_plain_sklearn_pipeline_round_trips_through_skops():
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    name, data = serialization.dump_pipeline(pipe)
    assert name == serialization.SKOPS_NAME
    loaded = serialization.load_pipeline(name, data)
    assert (loaded.predict(X) == pipe.predict(X)).all()


def test_a_pipeline_needing_types_outside_the_allowlist_falls_back_to_cloudpickle():
    pipe = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression()).fit(X, y)
    name, data = serialization.dump_pipeline(pipe)
    assert name == serialization.PICKLE_NAME
    assert (serialization.load_pipeline(name, data).predict(X) == pipe.predict(X)).all()


def test_skops_bytes_with_an_untrusted_type_are_refused():
    crafted = sio.dumps(make_pipeline(FunctionTransformer(operator.neg)))
    with pytest.raises(IntegrityError, match="allowlist"):
        serialization.load_pipeline(serialization.SKOPS_NAME, crafted)


def test_unknown_pipeline_format_is_refused():
    with pytest.raises(IntegrityError):
        serialization.load_pipeline("pipeline.joblib", b"...")
