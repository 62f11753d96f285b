"""Predict with a registered model version: verify, load (cached), check the schema, predict."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from mlsmith.core.services import artifacts, registry
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.backends import Backends

_CACHE_SIZE = 8
_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def predict(
    backends: Backends, scope: Scope, ref: str, df: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], registry.ResolvedVersion]:
    """Returns (predictions frame, warnings, resolved model version)."""
    from mlsmith.core.engine import predict_frame

    rv = registry.resolve(backends, scope, ref)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        run = uow.runs.get(rv.version.run_id)
    pipeline = load_pipeline(backends, run)
    frame, warnings = predict_frame(pipeline, run.manifest["schema"], df)
    return frame, warnings, rv


def load_pipeline(backends: Backends, run) -> Any:
    key = run.id  # a run's pipeline never changes once the run succeeded
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    pipeline = artifacts.load_run_pipeline(backends, run)  # verifies signature + sha256
    with _lock:
        _cache[key] = pipeline
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return pipeline


def clear_cache() -> None:
    with _lock:
        _cache.clear()
