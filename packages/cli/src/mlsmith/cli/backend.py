"""What the commands ask for, whatever the mode: the ``Client`` interface, and ``Embedded``, its
implementation over the core services in this process. ``Remote`` (remote.py) implements it over
a server's HTTP API; ``CliState.client`` picks one.

Both speak core domain objects (``Run``, ``Artifact``, ``ResolvedVersion`` ...), so the views in
views.py print the same thing in both modes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import typer

from mlsmith.cli.errors import EXIT_INTERRUPTED
from mlsmith.cli.output import err_console
from mlsmith.cli.progress import RunProgress

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.cli.context import CliState
    from mlsmith.core.domain import Artifact, Model, ModelVersion, Run
    from mlsmith.core.services.registry import ResolvedVersion

ModelListing = tuple["Model", list["ModelVersion"], dict[str, int]]


@dataclass(frozen=True)
class Uploaded:
    """A dataset as ``train`` reports it."""

    id: str
    name: str
    n_rows: int
    n_cols: int


class Client(Protocol):
    def upload(self, path: Path) -> Uploaded: ...

    def start_run(self, dataset_id: str, target: str, **options: Any) -> Run:
        """options: task, metric, folds, time_budget_s, seed, tune_top_k."""
        ...

    def watch(self, run_id: str, *, show: bool = True) -> Run:
        """Follow the run with a live display until it ends; Ctrl-C cancels it (exit 130)."""
        ...

    def list_runs(self, *, status: str | None, limit: int) -> list[Run]: ...
    def get_run(self, run_id: str) -> Run: ...
    def list_artifacts(self, run_id: str) -> list[Artifact]: ...
    def cancel_run(self, run_id: str) -> Run: ...
    def delete_run(self, run_id: str) -> int: ...
    def replay(self, run_id: str) -> dict[str, Any]: ...
    def promote(self, run_id: str, name: str, *, alias: str | None) -> ResolvedVersion: ...
    def list_models(self) -> list[ModelListing]: ...
    def show_model(self, name: str) -> ModelListing: ...
    def set_alias(self, ref: str, alias: str) -> ResolvedVersion: ...

    def predict(self, ref: str, data: Path) -> tuple[pd.DataFrame, list[str], ResolvedVersion]:
        """(predictions frame, warnings, the model version used)."""
        ...

    def close(self) -> None: ...


def interrupted(run_id: str, cancel, wait) -> typer.Exit:
    """Ctrl-C while following a run: ask for cancellation, keep following until the run has
    settled (a second Ctrl-C stops waiting), report its status; the caller raises the result."""
    err_console.print(f"[yellow]cancelling run {run_id} ...[/]", soft_wrap=True)
    cancel()
    run = None
    with contextlib.suppress(KeyboardInterrupt):
        run = wait()
    status = run.status.value if run is not None else "unknown"
    err_console.print(f"run {run_id} {status}", soft_wrap=True)
    return typer.Exit(EXIT_INTERRUPTED)


class Embedded:
    """The core services on the local backends of ``CliState`` (built on first use)."""

    def __init__(self, state: CliState) -> None:
        self.state = state

    @property
    def _b(self):
        return self.state.backends

    @property
    def _s(self):
        return self.state.scope

    def upload(self, path: Path) -> Uploaded:
        from mlsmith.core.services import datasets

        ds = datasets.ingest_file(self._b, self._s, path)
        return Uploaded(ds.id, ds.name, ds.n_rows, ds.n_cols)

    def start_run(self, dataset_id: str, target: str, **options: Any) -> Run:
        from mlsmith.core.services import training

        return training.start_run(self._b, self._s, dataset_id, target, **options)

    def watch(self, run_id: str, *, show: bool = True) -> Run:
        """Run the worker loop in this process until the run ends, with a live progress bar.

        Ctrl-C asks for cancellation and keeps the loop going until the worker has settled the
        run (so it ends ``cancelled``, not stuck ``running``), then exits 130.
        """
        from mlsmith.core.domain import RunStatus
        from mlsmith.core.services import runs, training
        from mlsmith.core.services.worker import Worker

        display = RunProgress(show=show)
        # Claim work only until our own run is underway: never wait on other people's queued runs.
        worker = Worker(
            self._b, accept=lambda: display.run is None or display.run.status is RunStatus.QUEUED
        )

        def tick() -> None:
            display.update(runs.get(self._b, self._s, run_id))

        def settled() -> bool:
            return display.run is not None and display.run.status.terminal and not worker.busy

        def wait() -> Run | None:
            worker.run_until(settled, on_tick=tick)
            return display.run

        try:
            with display:
                worker.run_until(settled, on_tick=tick)
        except KeyboardInterrupt:
            raise interrupted(
                run_id, lambda: training.cancel_run(self._b, self._s, run_id), wait
            ) from None
        assert display.run is not None
        return display.run

    def list_runs(self, *, status: str | None, limit: int) -> list[Run]:
        from mlsmith.core.services import runs

        return runs.list_runs(self._b, self._s, status=status, limit=limit)

    def get_run(self, run_id: str) -> Run:
        from mlsmith.core.services import runs

        return runs.get(self._b, self._s, run_id)

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        from mlsmith.core.services import runs

        return runs.list_artifacts(self._b, self._s, run_id)

    def cancel_run(self, run_id: str) -> Run:
        from mlsmith.core.services import training

        return training.cancel_run(self._b, self._s, run_id)

    def delete_run(self, run_id: str) -> int:
        from mlsmith.core.services import runs

        return runs.delete(self._b, self._s, run_id)

    def replay(self, run_id: str) -> dict[str, Any]:
        from mlsmith.core.services import runs

        return runs.replay(self._b, self._s, run_id)

    def promote(self, run_id: str, name: str, *, alias: str | None) -> ResolvedVersion:
        from mlsmith.core.services import registry

        return registry.promote(self._b, self._s, run_id, name, alias=alias)

    def list_models(self) -> list[ModelListing]:
        from mlsmith.core.services import registry

        return registry.list_models(self._b, self._s)

    def show_model(self, name: str) -> ModelListing:
        from mlsmith.core.services import registry

        return registry.show_model(self._b, self._s, name)

    def set_alias(self, ref: str, alias: str) -> ResolvedVersion:
        from mlsmith.core.services import registry

        return registry.set_alias(self._b, self._s, ref, alias)

    def predict(self, ref: str, data: Path) -> tuple[pd.DataFrame, list[str], ResolvedVersion]:
        from mlsmith.core.services import datasets, prediction

        frame = datasets.read_csv(data)
        return prediction.predict(self._b, self._s, ref, frame)

    def close(self) -> None:
        pass  # the platform belongs to CliState, which closes it
