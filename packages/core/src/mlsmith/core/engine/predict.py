"""Predicting with a finalized pipeline on a raw frame, checked against the training schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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
    out["prediction"] = pipeline.predict(X)
    classes = schema.get("classes")
    if schema.get("task") != "regression" and classes and hasattr(pipeline, "predict_proba"):
        proba = np.asarray(pipeline.predict_proba(X), dtype=float)
        for i, label in enumerate(classes):
            out[f"proba_{label}"] = proba[:, i]
    return out, warnings
