"""Predicting with a finalized pipeline on a raw frame, checked against the training schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mlsmith.core.errors import InvalidInput


def predict_frame(
    pipeline: Any, schema: dict[str, Any], df: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for ``df`` as a frame: ``prediction`` plus ``proba_<class>`` for classifiers.

    Missing feature columns are an error naming them; columns the model never saw are ignored and
    listed in the returned warnings (the target and columns dropped at training are expected, so
    they are ignored silently).
    """
    features = [f["name"] for f in schema["features"]]
    present = {str(c): c for c in df.columns}
    missing = [c for c in features if c not in present]
    if missing:
        raise InvalidInput(f"missing feature columns: {', '.join(missing)}", missing=missing)
    known = {*features, schema.get("target"), *(d["name"] for d in schema.get("dropped", []))}
    extra = [name for name in present if name not in known]
    warnings = [f"ignored columns the model does not use: {', '.join(extra)}"] if extra else []
    X = df[[present[c] for c in features]].copy()
    X.columns = features
    out = pd.DataFrame(index=df.index)
    if len(X) == 0:
        out["prediction"] = pd.Series(dtype=object)
        return out, warnings
    classes = schema.get("classes")
    if schema.get("task") == "regression" or not classes or not hasattr(pipeline, "predict_proba"):
        out["prediction"] = pipeline.predict(X)
        return out, warnings
    labels, proba = labels_and_proba(pipeline, X)
    out["prediction"] = labels
    proba = np.asarray(proba, dtype=float)
    for i, label in enumerate(classes):
        out[f"proba_{label}"] = proba[:, i]
    return out, warnings


def labels_and_proba(pipeline: Any, X: pd.DataFrame) -> tuple[Any, Any]:
    """Run the preprocessing once for both outputs: for a one-row request it is most of the cost,
    and ``predict`` then ``predict_proba`` on the whole pipeline would pay it twice."""
    Xt, final = X, pipeline
    if isinstance(pipeline, Pipeline):
        # Step by step rather than ``pipeline[:-1]``: a slice of stateless steps counts as unfitted.
        for _name, step in pipeline.steps[:-1]:
            if step is not None and step != "passthrough":
                Xt = step.transform(Xt)
        final = pipeline.steps[-1][1]
    if hasattr(final, "predict_with_proba"):
        return final.predict_with_proba(Xt)
    return final.predict(Xt), final.predict_proba(Xt)
