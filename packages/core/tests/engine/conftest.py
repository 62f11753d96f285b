"""Small real datasets and a mixed-type frame shared by the engine tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets


@pytest.fixture(scope="session")
def breast_cancer() -> pd.DataFrame:
    return datasets.load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    df = datasets.load_iris(as_frame=True).frame
    names = dict(enumerate(datasets.load_iris().target_names))
    df["species"] = df.pop("target").map(names)  # string labels, as users upload them
    return df


@pytest.fixture(scope="session")
def diabetes() -> pd.DataFrame:
    return datasets.load_diabetes(as_frame=True).frame


@pytest.fixture
def mixed() -> pd.DataFrame:
    """Numeric, low/high-cardinality categorical, date strings, an id, a constant, free text."""
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    city = rng.choice([f"city_{i}" for i in range(40)], n)
    x = rng.normal(size=n)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    signal = x + (colour == "red") * 1.5 + rng.normal(scale=0.3, size=n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "code": [f"C{i:05d}" for i in range(n)],
            "x": x,
            "colour": colour,
            "city": city,
            "signup": days.strftime("%Y-%m-%d"),
            "constant": 7,
            "note": [f"customer wrote a long free text message number {i} here" for i in range(n)],
            "label": np.where(signal > 0.5, "yes", "no"),
        }
    )
