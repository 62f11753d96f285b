"""``Remote``: the CLI's client interface over a server's HTTP API (httpx), and ``Api``, the one
place that sends requests: bearer auth, a transparent refresh on 401 (once, saving the rotated
refresh token), and the server's ``{code, message, details}`` errors turned back into the core
errors the CLI already prints as one line (exit 2).

Imported only when a command runs against a server, so ``--help`` never pays for httpx.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from mlsmith.cli import credentials as creds_store
from mlsmith.cli.backend import ModelListing, Uploaded, interrupted
from mlsmith.cli.credentials import Credentials
from mlsmith.cli.progress import RunProgress
from mlsmith.core import errors
from mlsmith.core.domain import Artifact, Model, ModelVersion, Run, RunStatus

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.services.registry import ResolvedVersion

API = "/api/v1"
NOT_LOGGED_IN = "not logged in: run `mlsmith login --url URL`"
PAGE = 200  # the server's default max page size
CLI_PROJECT = "cli"
SSE_RECONNECT_S = 1.0
_REF = re.compile(r"^(?P<name>[^@:]+)(?:@(?P<alias>[^@:]+)|:(?P<version>\d+))?$")
_ERRORS: dict[str, type[errors.MlsmithError]] = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.MlsmithError)
}


# -- transport ----------------------------------------------------------------------------------
class Api:
    """An httpx client bound to one server and one login."""

    def __init__(self, creds: Credentials, *, transport: httpx.BaseTransport | None = None):
        self.creds = creds
        self.http = httpx.Client(
            base_url=creds.url,
            timeout=httpx.Timeout(60.0, connect=10.0),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "mlsmith-cli"},
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send; on 401 refresh the session once and resend; raise core errors for 4xx/5xx."""
        resp = self._send(method, path, **kw)
        if resp.status_code == 401 and self._refresh():
            for part in (kw.get("files") or {}).values():  # resend an upload from its start
                if isinstance(part, tuple) and hasattr(part[1], "seek"):
                    part[1].seek(0)
            resp = self._send(method, path, **kw)
        _raise_for(resp)
        return resp

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kw: Any) -> Iterator[httpx.Response]:
        for attempt in (1, 2):
            args = dict(kw)
            req = self.http.build_request(method, path, headers=self._headers(args), **args)
            resp = self._guard(lambda req=req: self.http.send(req, stream=True))
            if resp.status_code == 401 and attempt == 1:
                resp.close()
                if self._refresh():
                    continue
                raise errors.Unauthenticated(NOT_LOGGED_IN)
            try:
                if resp.status_code >= 400:
                    resp.read()
                    _raise_for(resp)
                yield resp
            finally:
                resp.close()
            return

    def _headers(self, kw: dict[str, Any]) -> dict[str, str]:
        headers = dict(kw.pop("headers", None) or {})
        if self.creds.bearer:
            headers["Authorization"] = f"Bearer {self.creds.bearer}"
        return headers

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = self._headers(kw)
        return self._guard(lambda: self.http.request(method, path, headers=headers, **kw))

    def _guard(self, send):
        try:
            return send()
        except httpx.ConnectError:
            raise errors.BackendUnavailable(
                f"cannot connect to the mlsmith server at {self.creds.url} (is it running? "
                "check `mlsmith whoami`, or use --local for embedded mode)"
            ) from None
        except httpx.TimeoutException:
            raise errors.BackendUnavailable(
                f"the mlsmith server at {self.creds.url} did not answer in time"
            ) from None
        except httpx.TransportError as exc:
            raise errors.BackendUnavailable(
                f"connection to the mlsmith server at {self.creds.url} failed "
                f"({type(exc).__name__})"
            ) from None

    def _refresh(self) -> bool:
        """Trade the refresh token for a new pair (saved at once: the old one is now spent)."""
        c = self.creds
        if c.api_key or not c.refresh_token:
            return False
        resp = self._guard(
            lambda: self.http.post(f"{API}/auth/refresh", json={"refresh_token": c.refresh_token})
        )
        if resp.status_code != 200:
            return False
        pair = resp.json()
        c.access_token, c.refresh_token = pair["access_token"], pair["refresh_token"]
        if not c.from_env:
            creds_store.save(c)
        return True


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
        text = " ".join(resp.text.split())[:200] or resp.reason_phrase
        raise errors.MlsmithError(f"the server answered {resp.status_code}: {text}")
    if resp.status_code == 401:
        raise errors.Unauthenticated(f"{NOT_LOGGED_IN} ({body['message']})")
    cls = _ERRORS.get(str(body.get("code")), errors.MlsmithError)
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    raise cls(body["message"], **details)


# -- JSON -> domain -----------------------------------------------------------------------------
def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _run(o: dict[str, Any], leaderboard: list[dict[str, Any]] | None = None) -> Run:
    return Run(
        id=o["id"],
        workspace_id=o["workspace_id"],
        experiment_id=o.get("experiment_id"),
        dataset_id=o["dataset_id"],
        target=o["target"],
        task=o["task"],
        metric=o.get("metric"),
        settings=o.get("settings") or {},
        status=RunStatus(o["status"]),
        stage=o["stage"],
        progress=o["progress"],
        leaderboard=leaderboard or [],
        best_model=o.get("best_model"),
        error=o.get("error"),
        cancel_requested=o.get("cancel_requested", False),
        attempt=o.get("attempt", 0),
        created_by=o.get("created_by"),
        created_at=_dt(o["created_at"]),
        started_at=_dt(o.get("started_at")),
        finished_at=_dt(o.get("finished_at")),
    )


def _model(o: dict[str, Any]) -> Model:
    return Model(
        id=o["id"],
        workspace_id=o["workspace_id"],
        name=o["name"],
        description=o.get("description", ""),
        created_at=_dt(o["created_at"]),
    )


def _version(o: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        model_id=o["model_id"],
        version=o["version"],
        run_id=o["run_id"],
        lineage=o.get("lineage") or {},
        created_at=_dt(o["created_at"]),
    )


def _apply(run: Run, event: dict[str, Any]) -> None:
    """Fold one run event into the local copy of the run (for the live display)."""
    kind, payload = event.get("kind"), event.get("payload") or {}
    if kind == "stage":
        run.stage = payload.get("stage", run.stage)
    elif kind == "progress":
        run.progress = float(payload.get("progress", run.progress))
    elif kind == "plan":
        run.task = payload.get("task", run.task)
        run.metric = payload.get("metric", run.metric)
    elif kind == "model" and isinstance(payload.get("leaderboard"), list):
        run.leaderboard = payload["leaderboard"]
    elif kind == "status":
        status = payload.get("status")
        if status == "cancel_requested":
            run.cancel_requested = True
        elif status in set(RunStatus):
            run.status = RunStatus(status)
            run.error = payload.get("error") or run.error


def _sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse Server-Sent Events: one dict (the JSON ``data``) per event; comments skipped."""
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield json.loads("\n".join(data))
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield json.loads("\n".join(data))


def _terminal(event: dict[str, Any]) -> bool:
    status = (event.get("payload") or {}).get("status")
    return event.get("kind") == "status" and status in {"succeeded", "failed", "cancelled"}


# -- the client ---------------------------------------------------------------------------------
class Remote:
    def __init__(self, creds: Credentials, *, transport: httpx.BaseTransport | None = None):
        self.api = Api(creds, transport=transport)
        self.creds = creds

    def close(self) -> None:
        self.api.close()

    # -- identity
    def me(self) -> dict[str, Any]:
        return self.api.json("GET", f"{API}/auth/me")

    @property
    def workspace_id(self) -> str:
        c = self.creds
        if c.workspace_id is None:
            ws = pick_workspace(self.me()["workspaces"], c.workspace)
            c.workspace_id, c.workspace = ws["id"], ws["name"]
        return c.workspace_id

    def _pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.api.json("GET", path, params={**params, "limit": PAGE, "offset": offset})
            yield from page["items"]
            if len(page["items"]) < PAGE:
                return
            offset += PAGE

    # -- datasets and runs
    def upload(self, path: Path) -> Uploaded:
        with Path(path).open("rb") as fh:
            ds = self.api.json(
                "POST",
                f"{API}/workspaces/{self.workspace_id}/datasets",
                files={"file": (Path(path).name, fh, "text/csv")},
            )
        return Uploaded(ds["id"], ds["name"], ds["n_rows"], ds["n_cols"])

    def start_run(self, dataset_id: str, target: str, **options: Any) -> Run:
        task = options.pop("task", "auto")
        experiment = self._experiment(target, task)
        run = self.api.json(
            "POST",
            f"{API}/experiments/{experiment}/runs",
            json={"dataset_id": dataset_id, "overrides": options},
        )
        return _run(run)

    def _project(self) -> str:
        """The workspace's project "cli" (created on first use)."""
        ws = self.workspace_id
        for p in self._pages(f"{API}/workspaces/{ws}/projects"):
            if p["name"] == CLI_PROJECT:
                return p["id"]
        try:
            return self.api.json(
                "POST",
                f"{API}/workspaces/{ws}/projects",
                json={"name": CLI_PROJECT, "description": "runs started with `mlsmith train`"},
            )["id"]
        except errors.AlreadyExists:  # created meanwhile by another CLI
            return next(
                p["id"]
                for p in self._pages(f"{API}/workspaces/{ws}/projects")
                if p["name"] == CLI_PROJECT
            )

    def _experiment(self, target: str, task: str) -> str:
        """The project's experiment for this target and task (one per pair, created on first
        use), named after the target."""
        project = self._project()
        path = f"{API}/projects/{project}/experiments"
        existing = list(self._pages(path))
        for e in existing:
            if e["target"] == target and e["task"] == task:
                return e["id"]
        base = (target if task == "auto" else f"{target} ({task})")[:90]
        names = {e["name"] for e in existing}
        name = next(n for i in range(1, len(names) + 2) if (n := _nth(base, i)) not in names)
        body = {"name": name, "target": target, "task": task}
        return self.api.json("POST", path, json=body)["id"]

    def watch(self, run_id: str, *, show: bool = True) -> Run:
        run = self._run_only(run_id)
        display = RunProgress(show=show)
        last = {"seq": 0}

        def follow() -> Run:
            for event in self._events(run_id, last):
                _apply(run, event)
                display.update(run)
            return run

        try:
            with display:
                display.update(run)
                follow()
        except KeyboardInterrupt:
            raise interrupted(run_id, lambda: self.cancel_run(run_id), follow) from None
        return self.get_run(run_id)

    def _events(self, run_id: str, last: dict[str, int]) -> Iterator[dict[str, Any]]:
        """The run's events from ``last["seq"]`` on until its terminal status, reconnecting
        (resuming with Last-Event-ID) when the stream drops."""
        while True:
            headers = {"Last-Event-ID": str(last["seq"])} if last["seq"] else {}
            try:
                with self.api.stream("GET", f"{API}/runs/{run_id}/events", headers=headers) as resp:
                    for event in _sse(resp.iter_lines()):
                        last["seq"] = max(last["seq"], int(event.get("seq", 0)))
                        yield event
                        if _terminal(event):
                            return
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout):
                pass
            if self._run_only(run_id).status.terminal:
                return
            time.sleep(SSE_RECONNECT_S)

    def _run_only(self, run_id: str) -> Run:
        return _run(self.api.json("GET", f"{API}/runs/{run_id}"))

    def _with_board(self, o: dict[str, Any]) -> Run:
        board = self.api.json("GET", f"{API}/runs/{o['id']}/leaderboard")
        return _run(o, board)

    def list_runs(self, *, status: str | None, limit: int) -> list[Run]:
        params = {"status": status} if status else {}
        found: list[dict[str, Any]] = []
        for o in self._pages(f"{API}/workspaces/{self.workspace_id}/runs", **params):
            found.append(o)
            if len(found) >= limit:
                break
        # The leaderboard (for the best score) only where there is one.
        return [self._with_board(o) if o.get("best_model") else _run(o) for o in found]

    def get_run(self, run_id: str) -> Run:
        return self._with_board(self.api.json("GET", f"{API}/runs/{run_id}"))

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        return [
            Artifact(
                run_id=run_id,
                name=a["name"],
                storage_key="",  # the server never tells
                sha256=a["sha256"],
                size_bytes=a["size_bytes"],
                created_at=_dt(a["created_at"]),
            )
            for a in self.api.json("GET", f"{API}/runs/{run_id}/artifacts")
        ]

    def cancel_run(self, run_id: str) -> Run:
        return _run(self.api.json("POST", f"{API}/runs/{run_id}/cancel"))

    def delete_run(self, run_id: str) -> int:
        count = len(self.list_artifacts(run_id))  # the server deletes them with the run
        self.api.request("DELETE", f"{API}/runs/{run_id}")
        return count

    def replay(self, run_id: str) -> dict[str, Any]:
        raise errors.InvalidInput(
            "`runs replay` retrains in this process from the run's stored data, so it works in "
            "embedded mode only"
        )

    # -- registry
    def _resolved(self, o: dict[str, Any]) -> ResolvedVersion:
        from mlsmith.core.services.registry import ResolvedVersion

        model = _model(self.api.json("GET", f"{API}/models/{o['model_id']}"))
        return ResolvedVersion(model, _version(o), tuple(o.get("aliases") or ()))

    def promote(self, run_id: str, name: str, *, alias: str | None) -> ResolvedVersion:
        body = {"name": name, "alias": alias}
        return self._resolved(self.api.json("POST", f"{API}/runs/{run_id}/promote", json=body))

    def _listing(self, m: dict[str, Any]) -> ModelListing:
        versions = self.api.json("GET", f"{API}/models/{m['id']}/versions")
        return _model(m), [_version(v) for v in versions], dict(m.get("aliases") or {})

    def _model_by_name(self, name: str) -> dict[str, Any]:
        for m in self._pages(f"{API}/workspaces/{self.workspace_id}/models"):
            if m["name"] == name:
                return m
        raise errors.NotFound(f"model {name!r} not found", name=name)

    def list_models(self) -> list[ModelListing]:
        return [
            self._listing(m) for m in self._pages(f"{API}/workspaces/{self.workspace_id}/models")
        ]

    def show_model(self, name: str) -> ModelListing:
        return self._listing(self._model_by_name(name))

    def resolve(self, ref: str) -> tuple[dict[str, Any], ResolvedVersion]:
        """``name`` (latest), ``name@alias`` or ``name:version``, as the registry reads it."""
        from mlsmith.core.services.registry import ResolvedVersion

        m = _REF.match(ref.strip())
        if not m:
            raise errors.InvalidInput(
                f"invalid model reference {ref!r}; use NAME, NAME@ALIAS or NAME:VERSION"
            )
        raw = self._model_by_name(m["name"])
        model, versions, aliases = self._listing(raw)
        if m["version"]:
            wanted = int(m["version"])
        elif m["alias"] and m["alias"] != "latest":
            if m["alias"] not in aliases:
                raise errors.NotFound(f"model {model.name!r} has no alias {m['alias']!r}")
            wanted = aliases[m["alias"]]
        elif versions:
            wanted = max(v.version for v in versions)
        else:
            raise errors.NotFound(f"model {model.name!r} has no versions")
        mv = next((v for v in versions if v.version == wanted), None)
        if mv is None:
            raise errors.NotFound(f"model {model.name!r} has no version {wanted}")
        names = tuple(sorted(a for a, v in aliases.items() if v == wanted))
        return raw, ResolvedVersion(model, mv, names)

    def set_alias(self, ref: str, alias: str) -> ResolvedVersion:
        raw, rv = self.resolve(ref)
        out = self.api.json(
            "PUT",
            f"{API}/models/{raw['id']}/aliases/{alias}",
            json={"version": rv.version.version},
        )
        return self._resolved(out)

    # -- predict
    def predict(self, ref: str, data: Path) -> tuple[pd.DataFrame, list[str], ResolvedVersion]:
        """Through a deployment of the resolved version (the server has no other predict route):
        one that follows the alias named in ``ref``, else any serving that version."""
        import pandas as pd

        body = Path(data).read_bytes()  # a missing file fails before any request
        raw, rv = self.resolve(ref)
        m = _REF.match(ref.strip())
        alias = m["alias"] if m else None
        deployment = self._deployment_for(raw, rv, alias)
        if deployment is None:
            pin = f'"alias": "{alias}"' if alias else f'"version": {rv.version.version}'
            raise errors.NotFound(
                f"no deployment serves {rv.model.name} version {rv.version.version}; remote "
                "predict goes through one: create it with POST "
                f"{self.creds.url}{API}/workspaces/{self.workspace_id}/deployments "
                f'{{"slug": "...", "model": "{rv.model.name}", {pin}}}, or predict with --local '
                "where the model is stored"
            )
        out = self.api.json(
            "POST",
            f"{API}/deployments/{deployment['slug']}/predict",
            content=body,
            headers={"Content-Type": "text/csv"},
        )
        columns: dict[str, list[Any]] = {"prediction": out["predictions"]}
        probabilities = out.get("probabilities") or []
        for label in probabilities[0] if probabilities else ():
            columns[f"proba_{label}"] = [row.get(label) for row in probabilities]
        if out.get("version") != rv.version.version:  # an alias moved meanwhile
            _, rv = self.resolve(f"{rv.model.name}:{out['version']}")
        return pd.DataFrame(columns), list(out.get("warnings") or []), rv

    def _deployment_for(
        self, raw: dict[str, Any], rv: ResolvedVersion, alias: str | None
    ) -> dict[str, Any] | None:
        deployments = self.api.json("GET", f"{API}/workspaces/{self.workspace_id}/deployments")
        ours = [d for d in deployments if d["model_id"] == raw["id"]]
        aliases = raw.get("aliases") or {}
        if alias:
            for d in ours:
                if d.get("alias") == alias:
                    return d
        for d in ours:
            serves = d["version"] if d.get("version") else aliases.get(d.get("alias"))
            if serves == rv.version.version:
                return d
        return None


def _nth(base: str, i: int) -> str:
    return base if i == 1 else f"{base} #{i}"


def pick_workspace(workspaces: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    if not workspaces:
        raise errors.PermissionDenied("this account belongs to no workspace; ask an admin")
    if wanted is None:
        return workspaces[0]
    for ws in workspaces:
        if wanted in (ws["name"], ws["id"]):
            return ws
    names = ", ".join(ws["name"] for ws in workspaces)
    raise errors.NotFound(f"no workspace {wanted!r} for this account; yours: {names}")
