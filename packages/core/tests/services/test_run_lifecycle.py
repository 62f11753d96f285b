"""A run end to end on fake backends and the real engine: train, artifacts, promote, predict."""

from __future__ import annotations

import io
import json
import threading

import pytest

from mlsmith.core.domain import RunStatus
from mlsmith.core.errors import Conflict, IntegrityError, InvalidInput, NotFound
from mlsmith.core.services import artifacts, prediction, registry, runs, training
from mlsmith.core.services.worker import Worker


def _train(backends, scope, dataset, **kw):
    run = training.start_run(backends, scope, dataset.id, "target", folds=3, time_budget_s=6, **kw)
    worker = Worker(backends, poll_s=0.05)
    worker.run_until(lambda: runs.get(backends, scope, run.id).status.terminal and not worker.busy)
    return runs.get(backends, scope, run.id)


@pytest.fixture
def trained(backends, scope, iris_dataset):
    prediction.clear_cache()
    return _train(backends, scope, iris_dataset)


def test_run_succeeds_with_leaderboard_events_and_signed_artifacts(backends, scope, trained):
    run = trained
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.task == "multiclass" and run.metric
    assert len(run.leaderboard) >= 2 and run.best_model == run.leaderboard[0]["model"]
    assert run.manifest["dataset_sha256"] and run.manifest["engine"]["seed"] == 0
    names = {a.name for a in runs.list_artifacts(backends, scope, run.id)}
    assert {"manifest.json", "leaderboard.json", "events.jsonl", "run_manifest.json"} <= names
    assert names & {"pipeline.skops", "pipeline.cloudpickle"}
    kinds = {e.kind for e in runs.events(backends, scope, run.id)}
    assert {"status", "stage", "plan", "model"} <= kinds
    board = json.loads(artifacts.read_verified(backends, run, "leaderboard.json"))
    assert [r["model"] for r in board] == [r["model"] for r in run.leaderboard]


def test_promote_predict_and_aliases(backends, scope, trained, iris_frame):
    v1 = registry.promote(backends, scope, trained.id, "iris", alias="champion")
    v2 = registry.promote(backends, scope, trained.id, "iris")
    assert (v1.version.version, v2.version.version) == (1, 2)
    assert v1.version.lineage["dataset_sha256"] == trained.manifest["dataset_sha256"]
    assert registry.resolve(backends, scope, "iris@champion").version.version == 1
    assert registry.resolve(backends, scope, "iris").version.version == 2
    assert registry.resolve(backends, scope, "iris:2").version.version == 2
    registry.set_alias(backends, scope, "iris:2", "champion")
    assert registry.resolve(backends, scope, "iris@champion").version.version == 2

    features = iris_frame.drop(columns=["target"]).assign(extra=1)
    frame, warnings, _rv = prediction.predict(backends, scope, "iris@champion", features)
    assert list(frame.columns) == [
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]
    assert (frame["prediction"] == iris_frame["target"]).mean() > 0.9
    assert any("extra" in w for w in warnings)
    with pytest.raises(InvalidInput, match="petal"):
        prediction.predict(backends, scope, "iris", features.drop(columns=["petal length (cm)"]))


@pytest.mark.parametrize("ref", ["nope", "iris@nope", "iris:9"])
def test_unknown_model_references_are_not_found(backends, scope, trained, ref):
    registry.promote(backends, scope, trained.id, "iris")
    with pytest.raises(NotFound):
        registry.resolve(backends, scope, ref)


def test_only_succeeded_runs_can_be_promoted(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target")
    with pytest.raises(Conflict, match="queued"):
        registry.promote(backends, scope, run.id, "iris")


def test_tampered_pipeline_is_refused(backends, scope, trained):
    registry.promote(backends, scope, trained.id, "iris")
    pipe = next(
        a
        for a in runs.list_artifacts(backends, scope, trained.id)
        if a.name.startswith("pipeline.")
    )
    with backends.blobs.open(pipe.storage_key) as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0x01
    backends.blobs.put(pipe.storage_key, io.BytesIO(bytes(data)))
    prediction.clear_cache()
    with pytest.raises(IntegrityError, match="does not match"):
        prediction.load_pipeline(backends, trained)


def test_manifest_signed_with_another_key_is_refused(backends, scope, trained):
    man = next(
        a for a in runs.list_artifacts(backends, scope, trained.id) if a.name == "manifest.json"
    )
    with backends.blobs.open(man.storage_key) as fh:
        doc = json.loads(fh.read())
    doc["signature"] = "0" * 64
    forged = json.dumps(doc).encode()
    backends.blobs.put(man.storage_key, io.BytesIO(forged))
    with pytest.raises(IntegrityError, match="manifest"):
        artifacts.read_verified(backends, trained, "leaderboard.json")


def test_deleting_a_run_removes_its_files_and_rows(backends, scope, trained):
    prefix = artifacts.run_prefix(trained.id)
    assert list(backends.blobs.list_keys(prefix))
    runs.delete(backends, scope, trained.id)
    assert list(backends.blobs.list_keys(prefix)) == []
    with pytest.raises(NotFound):
        runs.get(backends, scope, trained.id)


def test_a_run_backing_a_model_cannot_be_deleted(backends, scope, trained):
    registry.promote(backends, scope, trained.id, "iris")
    with pytest.raises(Conflict, match="backs model"):
        runs.delete(backends, scope, trained.id)


def test_replay_rederives_the_same_leaderboard(backends, scope, trained):
    report = runs.replay(backends, scope, trained.id)
    assert report["rows"] and report["match"], report
    compared = [r for r in report["rows"] if r["match"] is not None]
    assert any(r["status"] == "ok" for r in compared)  # complete models really were re-run


def test_cancelling_a_running_run_keeps_its_partial_leaderboard(backends, scope, iris_dataset):
    run = training.start_run(
        backends, scope, iris_dataset.id, "target", folds=3, time_budget_s=300, tune_top_k=3
    )
    worker = Worker(backends, poll_s=0.05)
    asked = threading.Event()

    def cancel_after_first_model():
        if not asked.is_set() and runs.get(backends, scope, run.id).leaderboard:
            training.cancel_run(backends, scope, run.id)
            asked.set()

    worker.run_until(
        lambda: runs.get(backends, scope, run.id).status.terminal and not worker.busy,
        on_tick=cancel_after_first_model,
    )
    final = runs.get(backends, scope, run.id)
    assert final.status is RunStatus.CANCELLED
    assert final.leaderboard  # the models finished before the cancel are kept
    assert backends.queue.get(run.job_id).status.value == "done"
