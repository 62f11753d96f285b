"""Runs: start (from an experiment), read, live events (SSE and JSON pages), leaderboard, fold
metrics, artifacts, cancel, delete. Authorization and every decision live in core."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse

from mlsmith.core.domain import Role, RunEvent
from mlsmith.core.errors import InvalidInput, NotFound
from mlsmith.core.services import access, runs, training
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut, PageOut
from mlsmith.server.schemas.runs import (
    ArtifactOut,
    EventsPageOut,
    FoldMetricsOut,
    RunEventOut,
    RunIn,
    RunOut,
)
from mlsmith.server.security import permission

router = APIRouter(tags=["runs"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]
SSE_POLL_S = 0.5  # how often the stream looks for new events in the DB
SSE_KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
SSE_BATCH = 500
TERMINAL = {"succeeded", "failed", "cancelled"}
PRESIGN_EXPIRES_S = 300


@router.post(
    "/experiments/{experiment_id}/runs",
    status_code=202,
    dependencies=[permission("runs:write")],
    responses={429: {"model": ErrorOut, "description": "too many active runs of this user"}},
)
def start_run(
    experiment_id: Id, body: RunIn, backends: BackendsDep, principal: PrincipalDep
) -> RunOut:
    scope = access.scope_for_object(backends, principal, "experiment", experiment_id, Role.MEMBER)
    run = training.start_experiment_run(
        backends,
        scope,
        experiment_id,
        dataset_id=body.dataset_id,
        overrides=body.overrides,
        created_by=principal.user.id,
        data_source_id=body.data_source_id,
        source_request=body.source_request,
    )
    return RunOut.from_domain(run)


@router.get("/workspaces/{workspace_id}/runs", dependencies=[permission("runs:read")])
def list_runs(
    workspace_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> PageOut[RunOut]:
    scope = access.scope_in(backends, principal, workspace_id)
    items = runs.list_runs(backends, scope, status=status, limit=page.limit, offset=page.offset)
    return PageOut(
        items=[RunOut.from_domain(r) for r in items], limit=page.limit, offset=page.offset
    )


@router.get("/runs/{run_id}", dependencies=[permission("runs:read")])
def get_run(run_id: Id, backends: BackendsDep, principal: PrincipalDep) -> RunOut:
    scope = access.scope_for_object(backends, principal, "run", run_id)
    return RunOut.from_domain(runs.get(backends, scope, run_id))


@router.get(
    "/runs/{run_id}/events",
    dependencies=[permission("runs:read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
def stream_events(
    run_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Server-Sent Events read from the DB (so any server process can serve any run): ``id`` is
    the event's seq, so a client reconnecting with ``Last-Event-ID`` resumes after it. The stream
    ends after the run's terminal status event."""
    scope = access.scope_for_object(backends, principal, "run", run_id)
    start = _resume_from(last_event_id, after)  # authorised above, before the response starts
    return StreamingResponse(
        _sse(backends, scope, run_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_from(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None:
        return after or 0
    try:
        seq = int(last_event_id)
    except ValueError:
        raise InvalidInput("Last-Event-ID must be an event seq (an integer)") from None
    if seq < 0:
        raise InvalidInput("Last-Event-ID must not be negative")
    return seq


async def _sse(backends, scope, run_id: str, after: int) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    yield "retry: 2000\n\n"
    idle_since = loop.time()
    while True:
        try:
            batch = await run_in_threadpool(
                runs.events, backends, scope, run_id, after_seq=after, limit=SSE_BATCH
            )
        except NotFound:  # the run was deleted while we streamed
            return
        for ev in batch:
            after = ev.seq
            yield _frame(ev)
        if any(_is_terminal(ev) for ev in batch):
            return
        if batch:
            idle_since = loop.time()
            if len(batch) == SSE_BATCH:
                continue
        else:
            try:
                run = await run_in_threadpool(runs.get, backends, scope, run_id)
            except NotFound:
                return
            if run.status.terminal:  # resumed after the terminal event: nothing more will come
                tail = await run_in_threadpool(
                    runs.events, backends, scope, run_id, after_seq=after, limit=SSE_BATCH
                )
                for ev in tail:
                    yield _frame(ev)
                return
            if loop.time() - idle_since >= SSE_KEEPALIVE_S:
                idle_since = loop.time()
                yield ": keep-alive\n\n"
        await asyncio.sleep(SSE_POLL_S)


def _is_terminal(ev: RunEvent) -> bool:
    return ev.kind == "status" and ev.payload.get("status") in TERMINAL


def _frame(ev: RunEvent) -> str:
    data = json.dumps(
        {"seq": ev.seq, "kind": ev.kind, "ts": ev.ts.isoformat(), "payload": ev.payload},
        default=str,
    )
    return f"id: {ev.seq}\nevent: {ev.kind}\ndata: {data}\n\n"


@router.get("/runs/{run_id}/events.json", dependencies=[permission("runs:read")])
def list_events(
    run_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsPageOut:
    scope = access.scope_for_object(backends, principal, "run", run_id)
    items = runs.events(backends, scope, run_id, after_seq=after, limit=limit)
    return EventsPageOut(
        items=[RunEventOut.from_domain(e) for e in items],
        after=after,
        next_after=items[-1].seq if items else after,
        limit=limit,
    )


@router.get("/runs/{run_id}/leaderboard", dependencies=[permission("runs:read")])
def get_leaderboard(run_id: Id, backends: BackendsDep, principal: PrincipalDep) -> list[dict]:
    scope = access.scope_for_object(backends, principal, "run", run_id)
    return runs.leaderboard(backends, scope, run_id)


@router.get("/runs/{run_id}/folds", dependencies=[permission("runs:read")])
def get_fold_metrics(
    run_id: Id, backends: BackendsDep, principal: PrincipalDep
) -> list[FoldMetricsOut]:
    scope = access.scope_for_object(backends, principal, "run", run_id)
    return [
        FoldMetricsOut.model_validate(row) for row in runs.fold_metrics(backends, scope, run_id)
    ]


@router.get("/runs/{run_id}/artifacts", dependencies=[permission("runs:read")])
def list_artifacts(run_id: Id, backends: BackendsDep, principal: PrincipalDep) -> list[ArtifactOut]:
    scope = access.scope_for_object(backends, principal, "run", run_id)
    return [ArtifactOut.from_domain(a) for a in runs.list_artifacts(backends, scope, run_id)]


@router.get(
    "/runs/{run_id}/artifacts/{name}",
    dependencies=[permission("runs:read")],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the stored bytes"},
        307: {"description": "redirect to a presigned storage URL"},
    },
)
def download_artifact(
    run_id: Id,
    name: Annotated[str, Path(max_length=255)],
    backends: BackendsDep,
    principal: PrincipalDep,
) -> Response:
    """``name`` is looked up among the run's artifact rows, never used as a path."""
    scope = access.scope_for_object(backends, principal, "run", run_id)
    dl = runs.open_artifact(backends, scope, run_id, name, expires_s=PRESIGN_EXPIRES_S)
    art = dl.artifact
    headers = {"X-Content-SHA256": art.sha256, "Cache-Control": "private, no-store"}
    if dl.url is not None:
        return RedirectResponse(dl.url, status_code=307, headers=headers)
    headers["Content-Length"] = str(art.size_bytes)
    headers["Content-Disposition"] = f'attachment; filename="{_ascii_name(art.name)}"'
    return StreamingResponse(
        _chunks(dl.stream), media_type="application/octet-stream", headers=headers
    )


def _ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)


def _chunks(stream, size: int = 1 << 20):
    try:
        while chunk := stream.read(size):
            yield chunk
    finally:
        stream.close()


@router.post("/runs/{run_id}/cancel", dependencies=[permission("runs:write")])
def cancel_run(run_id: Id, backends: BackendsDep, principal: PrincipalDep) -> RunOut:
    scope = access.scope_for_object(backends, principal, "run", run_id, Role.MEMBER)
    return RunOut.from_domain(training.cancel_run(backends, scope, run_id))


@router.delete(
    "/runs/{run_id}",
    status_code=204,
    dependencies=[permission("runs:write")],
    responses={409: {"model": ErrorOut, "description": "still active, or backs a model"}},
)
def delete_run(run_id: Id, backends: BackendsDep, principal: PrincipalDep) -> Response:
    scope = access.scope_for_object(backends, principal, "run", run_id, Role.MEMBER)
    runs.delete(backends, scope, run_id)
    return Response(status_code=204)
