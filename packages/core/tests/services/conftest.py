from __future__ import annotations

import pytest

from mlsmith.core.services import datasets
from mlsmith.core.services.scope import Scope, default_scope


@pytest.fixture
def backends():
    from mlsmith.core.testing.fakes.backends import fake_backends

    b = fake_backends()
    yield b
    b.close()


@pytest.fixture
def scope(backends) -> Scope:
    return default_scope(backends)


@pytest.fixture
def iris_frame():
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    return df


@pytest.fixture
def iris_dataset(backends, scope, iris_frame):
    return datasets.ingest_frame(backends, scope, iris_frame, name="iris.csv")
