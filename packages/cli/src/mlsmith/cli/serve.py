"""``mlsmith serve``: the HTTP API (uvicorn running ``create_app``) with in-process workers.

uvicorn and the server are imported inside the command only, so ``mlsmith --help`` never pays for
them (see test_startup).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from mlsmith.cli.context import state

APP_FACTORY = "mlsmith.server.app:create_app"


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (each runs its own job workers).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the API and run queued jobs in this process."""
    import uvicorn

    st = state(ctx)
    if st.data_dir is not None:
        # The app factory reads its settings from the environment (also in worker processes).
        os.environ["MLSMITH_DATA_DIR"] = str(st.data_dir.expanduser().resolve())
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=None,  # the app configures logging (structlog; JSON with MLSMITH_LOG_JSON)
        access_log=False,  # the app logs one access line per request, with the request id
        server_header=False,
    )
