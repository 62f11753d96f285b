"""Contract suite of the DB port (``ports/db.py``): every MetadataStore must pass it.

Subclass with ``__test__ = True`` and a ``store`` fixture returning a migrated, empty store.
Concurrency tests use real threads with a barrier so that the racing calls really overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mlsmith.core.domain import (
    Artifact,
    Dataset,
    Model,
    Run,
    RunStatus,
    Workspace,
)
from mlsmith.core.errors import AlreadyExists, MlsmithError, NotFound
from mlsmith.core.ports.db import MetadataStore

NESTED: dict[str, Any] = {
    "folds": 5,
    "nested": {"list": [1, 2.5, "three", None, True], "deep": {"x": {"y": ["z"]}}},
    "unicode": "héllo ✓",
}


def run_in_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released together; return results (re-raising errors)."""
    barrier = threading.Barrier(n)

    def call(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))


class MetadataStoreContract:
    __test__ = False

    # -- helpers -------------------------------------------------------------------------------

    def _workspace(self, store: MetadataStore, name: str = "team") -> Workspace:
        ws = Workspace(name=name)
        with store.unit_of_work() as uow:
            uow.workspaces.add(ws)
        return ws

    def _dataset(self, store: MetadataStore, ws: Workspace, name: str = "iris.csv") -> Dataset:
        ds = Dataset(
            workspace_id=ws.id,
            name=name,
            storage_key=f"datasets/{name}",
            sha256="a" * 64,
            size_bytes=1234,
            n_rows=150,
            n_cols=5,
            columns=[{"name": "sepal", "dtype": "float"}, {"name": "species", "dtype": "str"}],
        )
        with store.unit_of_work() as uow:
            uow.datasets.add(ds)
        return ds

    def _run(self, store: MetadataStore, ws: Workspace, **kw: Any) -> Run:
        run = Run(workspace_id=ws.id, dataset_id=kw.pop("dataset_id", "ds_x"), target="y", **kw)
        with store.unit_of_work() as uow:
            uow.runs.add(run)
        return run

    def _model(self, store: MetadataStore, ws: Workspace, name: str = "churn") -> Model:
        model = Model(workspace_id=ws.id, name=name, description="predicts churn")
        with store.unit_of_work() as uow:
            uow.models.add(model)
        return model

    # -- store ---------------------------------------------------------------------------------

    def test_ping_succeeds_on_a_working_store(self, store: MetadataStore) -> None:
        store.ping()

    def test_migrate_twice_keeps_existing_data(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        store.migrate()
        with store.unit_of_work() as uow:
            assert uow.workspaces.get(ws.id) == ws

    # -- workspaces ----------------------------------------------------------------------------

    def test_workspace_round_trips_by_id_and_name(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        with store.unit_of_work() as uow:
            assert uow.workspaces.get(ws.id) == ws
            assert uow.workspaces.get_by_name("team") == ws
            assert [w.id for w in uow.workspaces.list()] == [ws.id]

    def test_missing_workspace_raises_not_found(self, store: MetadataStore) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.workspaces.get("ws_missing")
            with pytest.raises(NotFound):
                uow.workspaces.get_by_name("nobody")

    def test_duplicate_workspace_name_raises_already_exists(self, store: MetadataStore) -> None:
        self._workspace(store, "team")
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="team"))
        with store.unit_of_work() as uow:
            assert len(uow.workspaces.list()) == 1

    def test_duplicate_workspace_id_raises_already_exists(self, store: MetadataStore) -> None:
        ws = self._workspace(store, "a")
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="b", id=ws.id))

    def test_workspaces_list_holds_every_workspace(self, store: MetadataStore) -> None:
        ids = {self._workspace(store, f"w{i}").id for i in range(3)}
        with store.unit_of_work() as uow:
            assert {w.id for w in uow.workspaces.list()} == ids

    def test_renaming_a_workspace_keeps_its_id_and_refuses_a_taken_name(
        self, store: MetadataStore
    ) -> None:
        ws = self._workspace(store, "a")
        self._workspace(store, "b")
        ws.name = "renamed"
        with store.unit_of_work() as uow:
            uow.workspaces.save(ws)
        with store.unit_of_work() as uow:
            assert uow.workspaces.get_by_name("renamed").id == ws.id
        ws.name = "b"
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.workspaces.save(ws)
        with store.unit_of_work() as uow:
            assert uow.workspaces.get(ws.id).name == "renamed"

    def test_deleted_workspace_is_gone_and_deleting_it_again_is_not_found(
        self, store: MetadataStore
    ) -> None:
        ws = self._workspace(store, "a")
        with store.unit_of_work() as uow:
            uow.workspaces.delete(ws.id)
        with store.unit_of_work() as uow:
            assert uow.workspaces.list() == []
            with pytest.raises(NotFound):
                uow.workspaces.delete(ws.id)
            with pytest.raises(NotFound):
                uow.workspaces.save(ws)

    # -- unit of work --------------------------------------------------------------------------

    def test_read_only_unit_of_work_sees_committed_data(self, store: MetadataStore) -> None:
        ws = self._workspace(store, "seen")
        with store.unit_of_work(read_only=True) as uow:
            assert uow.workspaces.get(ws.id) == ws

    def test_a_write_in_a_read_only_unit_of_work_fails_and_persists_nothing(
        self, store: MetadataStore
    ) -> None:
        with pytest.raises(MlsmithError), store.unit_of_work(read_only=True) as uow:
            uow.workspaces.add(Workspace(name="sneaky"))
        with store.unit_of_work() as uow:
            assert uow.workspaces.list() == []
            uow.workspaces.add(Workspace(name="fine"))  # the connection is writable again

    def test_exception_inside_unit_of_work_persists_nothing(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="ghost"))
            changed = uow.runs.get(run.id)
            changed.stage = "changed"
            uow.runs.save(changed)
            uow.events.append(run.id, "log", {"msg": "lost"})
            uow.keys.add("ghost-key", b"x")
            raise Boom
        with store.unit_of_work() as uow:
            assert [w.name for w in uow.workspaces.list()] == ["team"]
            assert uow.runs.get(run.id).stage == "queued"
            assert uow.events.list(run.id) == []
            with pytest.raises(NotFound):
                uow.keys.get("ghost-key")

    def test_unit_of_work_stays_usable_after_a_duplicate_add(self, store: MetadataStore) -> None:
        # "first writer wins, later ones re-read": the re-read happens in the same unit of work.
        with store.unit_of_work() as uow:
            uow.keys.add("jwt", b"first")
        with store.unit_of_work() as uow:
            with pytest.raises(AlreadyExists):
                uow.keys.add("jwt", b"second")
            assert uow.keys.get("jwt") == b"first"
            uow.workspaces.add(Workspace(name="after"))
        with store.unit_of_work() as uow:
            assert uow.workspaces.get_by_name("after").name == "after"

    def test_changes_are_visible_inside_the_same_unit_of_work(self, store: MetadataStore) -> None:
        ws = Workspace(name="fresh")
        with store.unit_of_work() as uow:
            uow.workspaces.add(ws)
            assert uow.workspaces.get(ws.id) == ws

    def test_repos_return_copies(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws, settings={"folds": 3})
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
            got.stage = "mutated"
            got.settings["folds"] = 99
            got.leaderboard.append({"model": "x"})
            w = uow.workspaces.get(ws.id)
            w.name = "renamed"
        # the object given to add() is not shared with the store either
        run.stage = "mutated-original"
        with store.unit_of_work() as uow:
            again = uow.runs.get(run.id)
            assert again.stage == "queued"
            assert again.settings == {"folds": 3}
            assert again.leaderboard == []
            assert uow.workspaces.get(ws.id).name == "team"

    # -- datasets ------------------------------------------------------------------------------

    def test_dataset_round_trips_with_its_columns(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        ds = self._dataset(store, ws)
        with store.unit_of_work() as uow:
            got = uow.datasets.get(ds.id)
        assert got == ds
        assert got.columns[1] == {"name": "species", "dtype": "str"}

    def test_datasets_are_listed_per_workspace_with_pagination(self, store: MetadataStore) -> None:
        ws, other = self._workspace(store, "a"), self._workspace(store, "b")
        ids = {self._dataset(store, ws, f"d{i}.csv").id for i in range(5)}
        self._dataset(store, other, "theirs.csv")
        with store.unit_of_work() as uow:
            assert {d.id for d in uow.datasets.list(ws.id)} == ids
            pages = [uow.datasets.list(ws.id, limit=2, offset=o) for o in (0, 2, 4)]
        assert [len(p) for p in pages] == [2, 2, 1]
        assert {d.id for p in pages for d in p} == ids

    def test_deleted_dataset_is_gone(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        ds = self._dataset(store, ws)
        with store.unit_of_work() as uow:
            uow.datasets.delete(ds.id)
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.datasets.get(ds.id)
            assert uow.datasets.list(ws.id) == []

    def test_missing_dataset_raises_not_found(self, store: MetadataStore) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.datasets.get("ds_missing")
            with pytest.raises(NotFound):
                uow.datasets.delete("ds_missing")

    def test_duplicate_dataset_id_raises_already_exists(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        ds = self._dataset(store, ws)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.datasets.add(ds)

    # -- runs ----------------------------------------------------------------------------------

    def test_run_round_trips_every_field(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        started = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
        run = self._run(
            store,
            ws,
            task="binary",
            metric="roc_auc",
            settings=NESTED,
            status=RunStatus.RUNNING,
            stage="training",
            progress=42.5,
            leaderboard=[{"model": "rf", "score": 0.9, "folds": [0.8, 0.95]}],
            best_model="rf",
            error=None,
            attempt=2,
            manifest={"libs": {"sklearn": "1.5"}, "sha": "b" * 64},
            job_id="job_1",
            started_at=started,
        )
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
        assert got == run
        assert got.status is RunStatus.RUNNING
        assert got.settings == NESTED

    def test_saved_run_overwrites_every_field(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)
        run.status = RunStatus.SUCCEEDED
        run.stage = "done"
        run.progress = 100.0
        run.leaderboard = [{"model": "lr", "score": 0.7, "params": {"C": [1, 10]}}]
        run.best_model = "lr"
        run.error = "warning text"
        run.cancel_requested = True
        run.manifest = {"a": {"b": [1, {"c": None}]}}
        run.finished_at = datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
        with store.unit_of_work() as uow:
            uow.runs.save(run)
        with store.unit_of_work() as uow:
            assert uow.runs.get(run.id) == run

    def test_saving_a_missing_run_raises_not_found(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        with pytest.raises(NotFound), store.unit_of_work() as uow:
            uow.runs.save(Run(workspace_id=ws.id, dataset_id="d", target="y"))

    def test_missing_run_raises_not_found(self, store: MetadataStore) -> None:
        with store.unit_of_work() as uow:
            for call in (
                lambda: uow.runs.get("run_missing"),
                lambda: uow.runs.delete("run_missing"),
                lambda: uow.runs.request_cancel("run_missing"),
                lambda: uow.runs.transition("run_missing", (RunStatus.QUEUED,), RunStatus.RUNNING),
            ):
                with pytest.raises(NotFound):
                    call()

    def test_duplicate_run_id_raises_already_exists(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.runs.add(run)

    def test_datetimes_come_back_timezone_aware_utc(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        # an aware time in another zone must come back as the same instant, in UTC
        plus_two = timezone(timedelta(hours=2))
        started = datetime(2024, 1, 1, 14, 0, 0, 500, tzinfo=plus_two)
        run = self._run(store, ws, started_at=started)
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
            ws_got = uow.workspaces.get(ws.id)
        for value in (got.created_at, got.started_at, ws_got.created_at):
            assert value is not None
            assert value.utcoffset() == timedelta(0)
        assert got.started_at == started
        assert got.started_at.hour == 12
        assert got.created_at == run.created_at

    def test_runs_list_newest_first_with_status_filter_and_pages(
        self, store: MetadataStore
    ) -> None:
        ws, other = self._workspace(store, "a"), self._workspace(store, "b")
        base = datetime(2024, 1, 1, tzinfo=UTC)
        runs = [
            self._run(
                store,
                ws,
                created_at=base + timedelta(minutes=i),
                status=RunStatus.SUCCEEDED if i % 2 else RunStatus.QUEUED,
            )
            for i in range(6)
        ]
        self._run(store, other)
        newest_first = [r.id for r in reversed(runs)]
        with store.unit_of_work() as uow:
            assert [r.id for r in uow.runs.list(ws.id)] == newest_first
            assert [r.id for r in uow.runs.list(ws.id, limit=2, offset=1)] == newest_first[1:3]
            assert [r.id for r in uow.runs.list(ws.id, offset=5)] == newest_first[5:]
            succeeded = uow.runs.list(ws.id, status=RunStatus.SUCCEEDED)
            assert [r.id for r in succeeded] == [runs[5].id, runs[3].id, runs[1].id]
            assert uow.runs.list(ws.id, status=RunStatus.FAILED) == []

    def test_transition_applies_only_from_an_expected_status(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)
        started = datetime(2024, 2, 2, tzinfo=UTC)
        with store.unit_of_work() as uow:
            assert not uow.runs.transition(run.id, (RunStatus.RUNNING,), RunStatus.SUCCEEDED)
            assert uow.runs.transition(
                run.id, (RunStatus.QUEUED,), RunStatus.RUNNING, stage="training", started_at=started
            )
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
            assert (got.status, got.stage, got.started_at) == (
                RunStatus.RUNNING,
                "training",
                started,
            )
            assert not uow.runs.transition(run.id, (RunStatus.QUEUED,), RunStatus.RUNNING)

    def test_only_one_of_two_competing_transitions_wins(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws, status=RunStatus.RUNNING)
        with store.unit_of_work() as uow:
            first = uow.runs.transition(run.id, (RunStatus.RUNNING,), RunStatus.SUCCEEDED)
        with store.unit_of_work() as uow:
            second = uow.runs.transition(run.id, (RunStatus.RUNNING,), RunStatus.FAILED)
            assert uow.runs.get(run.id).status is RunStatus.SUCCEEDED
        assert (first, second) == (True, False)

    def test_concurrent_transitions_have_exactly_one_winner(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)

        def claim(i: int) -> bool:
            with store.unit_of_work() as uow:
                return uow.runs.transition(
                    run.id, (RunStatus.QUEUED,), RunStatus.RUNNING, stage=f"owner-{i}"
                )

        results = run_in_threads(8, claim)
        assert results.count(True) == 1
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
        assert got.status is RunStatus.RUNNING
        assert got.stage == f"owner-{results.index(True)}"

    def test_request_cancel_marks_live_runs_only(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        live = self._run(store, ws, status=RunStatus.RUNNING)
        done = {s: self._run(store, ws, status=s) for s in RunStatus if s.terminal}
        with store.unit_of_work() as uow:
            assert uow.runs.request_cancel(live.id) is True
            for run in done.values():
                assert uow.runs.request_cancel(run.id) is False
        with store.unit_of_work() as uow:
            assert uow.runs.get(live.id).cancel_requested is True
            assert not any(uow.runs.get(r.id).cancel_requested for r in done.values())

    def test_deleting_a_run_removes_its_events_and_artifacts(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run, keep = self._run(store, ws), self._run(store, ws)
        with store.unit_of_work() as uow:
            for r in (run, keep):
                uow.events.append(r.id, "log", {"n": 1})
                uow.artifacts.add(Artifact(r.id, "pipeline.skops", f"runs/{r.id}/p", "c" * 64, 9))
        with store.unit_of_work() as uow:
            uow.runs.delete(run.id)
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.runs.get(run.id)
            assert uow.events.list(run.id) == []
            assert uow.artifacts.list(run.id) == []
            with pytest.raises(NotFound):
                uow.artifacts.get(run.id, "pipeline.skops")
            assert len(uow.events.list(keep.id)) == 1
            assert len(uow.artifacts.list(keep.id)) == 1
        # the name is free again for a new run with the same id
        self._run(store, ws, id=run.id)

    # -- events --------------------------------------------------------------------------------

    def test_events_get_consecutive_seqs_and_round_trip(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run, other = self._run(store, ws), self._run(store, ws)
        with store.unit_of_work() as uow:
            appended = [uow.events.append(run.id, "progress", {"i": i, **NESTED}) for i in range(3)]
            assert uow.events.append(other.id, "log", {}).seq == 1
        assert [e.seq for e in appended] == [1, 2, 3]
        with store.unit_of_work() as uow:
            listed = uow.events.list(run.id)
            assert listed == appended
            assert [e.seq for e in uow.events.list(run.id, after_seq=1)] == [2, 3]
            assert [e.seq for e in uow.events.list(run.id, after_seq=1, limit=1)] == [2]
        assert listed[2].payload == {"i": 2, **NESTED}
        assert listed[0].ts.utcoffset() == timedelta(0)

    def test_appending_to_a_missing_run_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound), store.unit_of_work() as uow:
            uow.events.append("run_missing", "log", {})

    def test_concurrent_appends_give_gapless_unique_seqs(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)

        def append_many(i: int) -> list[int]:
            seqs = []
            for j in range(25):
                with store.unit_of_work() as uow:
                    seqs.append(uow.events.append(run.id, "log", {"t": i, "j": j}).seq)
            return seqs

        got = [s for seqs in run_in_threads(8, append_many) for s in seqs]
        assert sorted(got) == list(range(1, 201))
        with store.unit_of_work() as uow:
            stored = uow.events.list(run.id)
        assert [e.seq for e in stored] == list(range(1, 201))
        assert {(e.payload["t"], e.payload["j"]) for e in stored} == {
            (i, j) for i in range(8) for j in range(25)
        }

    # -- artifacts -----------------------------------------------------------------------------

    def test_artifacts_round_trip_and_list_per_run(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        run = self._run(store, ws)
        arts = [Artifact(run.id, n, f"runs/{run.id}/{n}", "d" * 64, 10) for n in ("a.json", "b")]
        with store.unit_of_work() as uow:
            for art in arts:
                uow.artifacts.add(art)
        with store.unit_of_work() as uow:
            assert uow.artifacts.get(run.id, "a.json") == arts[0]
            assert sorted(uow.artifacts.list(run.id), key=lambda a: a.name) == arts
            with pytest.raises(NotFound):
                uow.artifacts.get(run.id, "nope")

    def test_duplicate_artifact_name_per_run_raises_already_exists(
        self, store: MetadataStore
    ) -> None:
        ws = self._workspace(store)
        run, other = self._run(store, ws), self._run(store, ws)
        with store.unit_of_work() as uow:
            uow.artifacts.add(Artifact(run.id, "p", "k1", "e" * 64, 1))
            uow.artifacts.add(Artifact(other.id, "p", "k2", "e" * 64, 1))  # other run: fine
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.artifacts.add(Artifact(run.id, "p", "k3", "e" * 64, 1))
        with store.unit_of_work() as uow:
            assert uow.artifacts.get(run.id, "p").storage_key == "k1"

    def test_artifact_of_a_missing_run_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound), store.unit_of_work() as uow:
            uow.artifacts.add(Artifact("run_missing", "p", "k", "e" * 64, 1))

    # -- models --------------------------------------------------------------------------------

    def test_model_round_trips_by_id_and_name(self, store: MetadataStore) -> None:
        ws, other = self._workspace(store, "a"), self._workspace(store, "b")
        model = self._model(store, ws)
        theirs = self._model(store, other)  # same name, other workspace: fine
        with store.unit_of_work() as uow:
            assert uow.models.get(model.id) == model
            assert uow.models.get_by_name(ws.id, "churn") == model
            assert uow.models.get_by_name(other.id, "churn") == theirs
            assert uow.models.list(ws.id) == [model]
            with pytest.raises(NotFound):
                uow.models.get("mdl_missing")
            with pytest.raises(NotFound):
                uow.models.get_by_name(ws.id, "nope")

    def test_duplicate_model_name_in_a_workspace_raises_already_exists(
        self, store: MetadataStore
    ) -> None:
        ws = self._workspace(store)
        self._model(store, ws)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.models.add(Model(workspace_id=ws.id, name="churn"))

    def test_versions_count_up_and_keep_their_lineage(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        model = self._model(store, ws)
        with store.unit_of_work() as uow:
            v1 = uow.models.add_version(model.id, "run_1", NESTED)
            v2 = uow.models.add_version(model.id, "run_2", {})
        assert (v1.version, v2.version) == (1, 2)
        with store.unit_of_work() as uow:
            assert uow.models.get_version(model.id, 1) == v1
            assert uow.models.list_versions(model.id) == [v1, v2]
            with pytest.raises(NotFound):
                uow.models.get_version(model.id, 3)
        assert v1.lineage == NESTED
        assert v1.created_at.utcoffset() == timedelta(0)

    def test_version_of_a_missing_model_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound), store.unit_of_work() as uow:
            uow.models.add_version("mdl_missing", "run_1", {})

    def test_concurrent_promotes_get_distinct_versions(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        model = self._model(store, ws)

        def promote(i: int) -> int:
            with store.unit_of_work() as uow:
                return uow.models.add_version(model.id, f"run_{i}", {"i": i}).version

        assert sorted(run_in_threads(8, promote)) == list(range(1, 9))
        with store.unit_of_work() as uow:
            assert [v.version for v in uow.models.list_versions(model.id)] == list(range(1, 9))

    def test_aliases_point_move_and_resolve(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        model = self._model(store, ws)
        with store.unit_of_work() as uow:
            uow.models.add_version(model.id, "run_1", {})
            uow.models.add_version(model.id, "run_2", {})
            uow.models.set_alias(model.id, "prod", 1)
            uow.models.set_alias(model.id, "staging", 2)
        with store.unit_of_work() as uow:
            assert uow.models.resolve_alias(model.id, "prod") == 1
            uow.models.set_alias(model.id, "prod", 2)
        with store.unit_of_work() as uow:
            assert uow.models.resolve_alias(model.id, "prod") == 2
            assert uow.models.aliases(model.id) == {"prod": 2, "staging": 2}

    def test_unknown_alias_or_version_raises_not_found(self, store: MetadataStore) -> None:
        ws = self._workspace(store)
        model = self._model(store, ws)
        with store.unit_of_work() as uow:
            uow.models.add_version(model.id, "run_1", {})
        with store.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.models.resolve_alias(model.id, "prod")
            with pytest.raises(NotFound):
                uow.models.set_alias(model.id, "prod", 7)
            assert uow.models.aliases(model.id) == {}

    # -- platform keys -------------------------------------------------------------------------

    def test_keys_store_bytes_and_first_writer_wins(self, store: MetadataStore) -> None:
        blob = bytes(range(256))
        with store.unit_of_work() as uow:
            uow.keys.add("artifact-signing", blob)
        with pytest.raises(AlreadyExists), store.unit_of_work() as uow:
            uow.keys.add("artifact-signing", b"other")
        with store.unit_of_work() as uow:
            assert uow.keys.get("artifact-signing") == blob
            with pytest.raises(NotFound):
                uow.keys.get("missing")
