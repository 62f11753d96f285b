"""The embedded Python API: ``import mlsmith; run = mlsmith.train(df, target="y")``.

Module-level functions use one default ``Platform`` built from settings (``MLSMITH_*`` env or
``mlsmith.toml``; by default SQLite + files under ``./.mlsmith``). ``connect(...)`` gives an explicit
one, e.g. ``with mlsmith.connect(data_dir=tmp) as p: p.train(...)``.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import RunStatus
from mlsmith.core.services import datasets, prediction, registry, training
from mlsmith.core.services import runs as runs_service
from mlsmith.core.services.scope import Scope, default_scope
from mlsmith.core.services.worker import Worker

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.backends import Backends
    from mlsmith.core.domain import Run


class Platform:
    def __init__(self, backends: Backends, scope: Scope | None = None) -> None:
        self.backends = backends
        self.scope = scope or default_scope(backends)

    @classmethod
    def open(cls, **settings: Any) -> Platform:
        from mlsmith.core.settings import Settings

        return cls.from_settings(Settings(**settings))

    @classmethod
    def from_settings(cls, settings: Any) -> Platform:
        """Build the backends, migrate (idempotent, so a fresh data dir just works), scope."""
        from mlsmith.core.backends import build_backends

        backends = build_backends(settings)
        try:
            backends.metadata.migrate()
            return cls(backends)
        except BaseException:
            backends.close()
            raise

    def train(self, data: pd.DataFrame | str | os.PathLike, target: str, **options: Any) -> Run:
        """Train on a DataFrame or a CSV path and wait for the run to end; returns the run."""
        if isinstance(data, str | os.PathLike):
            ds = datasets.ingest_file(self.backends, self.scope, data)
        else:
            ds = datasets.ingest_frame(self.backends, self.scope, data)
        run = training.start_run(self.backends, self.scope, ds.id, target, **options)
        self.wait(run.id)
        return runs_service.get(self.backends, self.scope, run.id)

    def wait(self, run_id: str, on_tick=None) -> Run:
        def status() -> RunStatus:
            return runs_service.get(self.backends, self.scope, run_id).status

        worker = Worker(self.backends, accept=lambda: status() is RunStatus.QUEUED)
        worker.run_until(lambda: status().terminal and not worker.busy, on_tick=on_tick)
        return runs_service.get(self.backends, self.scope, run_id)

    def promote(
        self, run: Run | str, name: str, alias: str | None = None
    ) -> registry.ResolvedVersion:
        run_id = run if isinstance(run, str) else run.id
        return registry.promote(self.backends, self.scope, run_id, name, alias=alias)

    def predict(self, ref: str, df: pd.DataFrame) -> pd.DataFrame:
        frame, _warnings, _rv = prediction.predict(self.backends, self.scope, ref, df)
        return frame

    def close(self) -> None:
        self.backends.close()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: Platform | None = None
_default_lock = threading.Lock()


def _platform() -> Platform:
    global _default
    with _default_lock:
        if _default is None:
            _default = Platform.open()
        return _default


def connect(**settings: Any) -> Platform:
    """An explicit platform; keyword arguments override settings (e.g. ``data_dir=...``)."""
    return Platform.open(**settings)


def train(data: pd.DataFrame | str | os.PathLike, target: str, **options: Any) -> Run:
    return _platform().train(data, target, **options)


def promote(run: Run | str, name: str, alias: str | None = None) -> registry.ResolvedVersion:
    return _platform().promote(run, name, alias=alias)


def predict(ref: str, df: pd.DataFrame) -> pd.DataFrame:
    return _platform().predict(ref, df)


def load_model(ref: str) -> Any:
    """The verified fitted pipeline behind a model reference (``name``, ``name@alias``, ``name:3``)."""
    p = _platform()
    rv = registry.resolve(p.backends, p.scope, ref)
    run = runs_service.get(p.backends, p.scope, rv.version.run_id)
    return prediction.load_pipeline(p.backends, run)
