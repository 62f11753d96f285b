"""``mlsmith worker``: run the configured compute's external workers (a Celery worker).

Where jobs flow: ``mlsmith serve`` keeps the queue-claim loop (its in-process worker thread claims
jobs from the queue port, heartbeats their leases and settles runs); with ``MLSMITH_COMPUTE=celery``
that loop hands each task to the broker, and the processes started here run them. So scale-out is
one ``mlsmith serve`` (or several) plus any number of ``mlsmith worker`` processes sharing the same
settings (database, storage, secrets, broker).

Only the compute is built here, through its entry point, never the other ports: the worker's pool
processes build their own backends after the fork. The CLI does not import any adapter package; a
compute that can run external workers says so by having ``run_worker``.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

import typer

from mlsmith.cli.context import state


@runtime_checkable
class RunsWorkers(Protocol):
    """Optional capability of a compute: it runs tasks in separate worker processes."""

    def run_worker(
        self,
        *,
        concurrency: int | None = None,
        queues: list[str] | None = None,
        hostname: str | None = None,
        loglevel: str = "INFO",
    ) -> None: ...


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Tasks run at once by this worker (default: MLSMITH_WORKERS)."),
    ] = None,
    queues: Annotated[
        str | None,
        typer.Option(help="Comma-separated queues to consume (default: the compute's queue)."),
    ] = None,
    hostname: Annotated[
        str | None, typer.Option(help="Worker node name (default: celery@<host>).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run jobs shipped by `mlsmith serve` through an external compute (MLSMITH_COMPUTE=celery)."""
    from mlsmith.core.backends import BuildContext, resolve_builder
    from mlsmith.core.errors import ConfigError

    settings = state(ctx).settings
    url = settings.url_for("compute")
    compute: Any = resolve_builder("compute", url)(
        url, settings.options_for("compute"), BuildContext(settings=settings)
    )
    try:
        if not isinstance(compute, RunsWorkers):
            raise ConfigError(
                f"MLSMITH_COMPUTE={url} runs jobs inside `mlsmith serve`; `mlsmith worker` needs "
                "a compute with separate workers, e.g. MLSMITH_COMPUTE=celery+redis://host:6379/0",
                setting="MLSMITH_COMPUTE",
            )
        compute.run_worker(
            concurrency=concurrency,
            queues=[q.strip() for q in queues.split(",") if q.strip()] if queues else None,
            hostname=hostname,
            loglevel=log_level.upper(),
        )
    finally:
        compute.close()
