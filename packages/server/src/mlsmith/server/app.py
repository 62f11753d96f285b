"""``create_app``: the FastAPI application around one ``Backends``.

    uvicorn --factory mlsmith.server.app:create_app      # what ``mlsmith serve`` runs

The lifespan builds the backends from settings when none were given (and closes them on shutdown),
migrates the metadata store, and runs the in-process worker loop in a background thread.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from mlsmith.core.backends import Backends, build_backends
from mlsmith.core.services.worker import Worker
from mlsmith.core.settings import Settings
from mlsmith.server import errors
from mlsmith.server.logs import configure_logging
from mlsmith.server.metrics import Metrics
from mlsmith.server.middleware import (
    BodyLimitMiddleware,
    OriginCheckMiddleware,
    RequestContextMiddleware,
    TrustedHostMiddleware,
)
from mlsmith.server.routers import API_PREFIX, ROUTER_MODULES
from mlsmith.server.security import check_routes, routes

log = structlog.get_logger("mlsmith.server")
WORKER_JOIN_S = 30.0
TEST_HOST = "testserver"  # the Host of Starlette's TestClient


def create_app(
    backends: Backends | None = None,
    settings: Settings | None = None,
    start_worker: bool = True,
) -> FastAPI:
    settings = settings or (backends.settings if backends is not None else Settings())
    ring = configure_logging(settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_routes(app)  # again: routes may have been added after create_app
        _index_routes(app, metrics)
        owned = app.state.backends is None
        live = app.state.backends or build_backends(settings)
        stop = threading.Event()
        worker: threading.Thread | None = None
        try:
            live.metadata.migrate()
            app.state.backends = live
            if start_worker:
                worker = threading.Thread(
                    target=Worker(live).serve, args=(stop,), name="mlsmith-worker", daemon=True
                )
                worker.start()
            log.info("server_started", worker=start_worker)
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(WORKER_JOIN_S)
                if worker.is_alive():
                    log.warning("worker_did_not_stop", timeout_s=WORKER_JOIN_S)
            if owned:
                app.state.backends = None
                live.close()
            log.info("server_stopped")

    app = FastAPI(
        title="mlsmith",
        version=_version(),
        description="Self-hosted tabular AutoML: datasets, runs, models, deployments.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.backends = backends
    app.state.settings = settings
    app.state.log_buffer = ring
    app.state.metrics = metrics = Metrics(lambda: _run_counts(app))

    errors.install(app)
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "router"):
            app.include_router(module.router, prefix=API_PREFIX)
        if hasattr(module, "root_router"):
            app.include_router(module.root_router)
    check_routes(app)
    _index_routes(app, metrics)

    # Added innermost first: the request context wraps everything, including host refusals.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
    )
    app.add_middleware(OriginCheckMiddleware, allowed=list(settings.cors_origins))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,  # bearer headers, no cookies
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Last-Event-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    hosts = list(settings.trusted_hosts)
    if backends is not None:
        # Backends handed in: a test or an embedding program, whose in-process client (Starlette's
        # TestClient) sends this Host. ``mlsmith serve`` always builds its own and never adds it.
        hosts.append(TEST_HOST)
    app.add_middleware(TrustedHostMiddleware, allowed=hosts)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def _index_routes(app: FastAPI, metrics: Metrics) -> None:
    metrics.templates = {
        id(r.original_route): r.path for r in routes(app) if isinstance(r.path, str)
    }


def _run_counts(app: FastAPI) -> dict[str, int]:
    backends = app.state.backends
    if backends is None:
        return {}
    from mlsmith.server.routers.ops import run_counts

    return run_counts(backends)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlsmith-server")
    except PackageNotFoundError:
        return "0.0.0"
