"""Data sources on fake backends with the fake connector: credentials stored encrypted and bound to
their source, never returned; snapshots become datasets through the upload path; runs start from a
source."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlsmith.core.domain import Experiment, Role, RunStatus
from mlsmith.core.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)
from mlsmith.core.services import data_sources, datasets, runs, training
from mlsmith.core.services.scope import Scope
from mlsmith.core.settings import Settings
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.core.testing.fakes.connectors import FakeConnector, use_connector

TOKEN = "tok-very-secret-0123456789"
TABLE = b"a,b,target\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"


@pytest.fixture
def connector(monkeypatch) -> FakeConnector:
    fake = FakeConnector({"t": TABLE, "zip": b"PK\x03\x04rest", "big": b"a\n" + b"1\n" * 500})
    use_connector(monkeypatch, fake)
    return fake


def _create(backends, scope, name="warehouse", token=TOKEN):
    return data_sources.create(
        backends,
        scope,
        name=name,
        kind="fake",
        config={"endpoint": "db.example.com"},
        credentials={"token": token},
    )


def test_credentials_are_stored_only_as_ciphertext_and_never_returned(backends, scope, connector):
    src = _create(backends, scope)
    stored = backends.metadata.unit_of_work
    with stored() as uow:
        raw = uow.data_sources.get(src.id)
    assert TOKEN.encode() not in raw.secret_ciphertext
    for got in (
        data_sources.get(backends, scope, src.id),
        *data_sources.list_sources(backends, scope),
    ):
        fields = json.dumps(dataclasses.asdict(got), default=repr)
        assert TOKEN not in fields
        assert got.config == {"endpoint": "db.example.com"}
    # the ciphertext is what the connector's credentials decrypt from, under the source's context
    plain = backends.secrets.decrypt(
        raw.secret_ciphertext, context={"workspace_id": scope.workspace_id, "secret_id": src.id}
    )
    assert json.loads(plain) == {"token": TOKEN}


def test_ciphertext_does_not_decrypt_under_another_workspace_or_source(backends, scope, connector):
    src = _create(backends, scope)
    other = _create(backends, scope, name="other")
    for context in (
        {"workspace_id": "ws_other", "secret_id": src.id},
        {"workspace_id": scope.workspace_id, "secret_id": other.id},
        None,
    ):
        with pytest.raises(IntegrityError):
            backends.secrets.decrypt(src.secret_ciphertext, context=context)


def test_ciphertext_moved_to_another_source_fails_the_snapshot(backends, scope, connector):
    victim = _create(backends, scope, name="victim")
    thief = _create(backends, scope, name="thief", token="mine")
    with backends.metadata.unit_of_work() as uow:
        uow.data_sources.delete(thief.id)
        uow.data_sources.add(dataclasses.replace(thief, secret_ciphertext=victim.secret_ciphertext))
    with pytest.raises(IntegrityError):
        data_sources.snapshot(backends, scope, thief.id, {"table": "t"})
    assert connector.seen_credentials is None


def test_snapshot_ingests_the_table_as_a_dataset_with_the_decrypted_credentials(
    backends, scope, connector
):
    src = _create(backends, scope)
    ds = data_sources.snapshot(backends, scope, src.id, {"table": "t"})
    assert connector.seen_credentials == {"token": TOKEN}
    assert (ds.n_rows, ds.n_cols, ds.name) == (4, 3, "warehouse.csv")
    assert datasets.get(backends, scope, ds.id).sha256 == ds.sha256
    assert datasets.load_frame(backends, ds)["target"].tolist() == ["x", "y", "x", "y"]


def test_snapshot_goes_through_upload_sniffing_and_size_cap(connector, monkeypatch):
    backends = fake_backends(Settings(workers=1, lease_s=5.0, max_upload_bytes=200))
    use_connector(monkeypatch, connector)
    scope = Scope("ws_1")
    src = _create(backends, scope)
    with pytest.raises(UnsupportedMediaType):
        data_sources.snapshot(backends, scope, src.id, {"table": "zip"})
    with pytest.raises(PayloadTooLarge, match="exceeds the limit of 200 bytes"):
        data_sources.snapshot(backends, scope, src.id, {"table": "big"})
    assert list(backends.blobs.list_keys("")) == []
    assert datasets.list_datasets(backends, scope) == []


def test_connector_validation_refuses_bad_config_without_echoing_credentials(
    backends, scope, connector
):
    with pytest.raises(InvalidInput) as err:
        data_sources.create(
            backends,
            scope,
            name="x",
            kind="fake",
            config={"endpoint": "h"},
            credentials={"token": TOKEN, "extra": TOKEN},
        )
    assert TOKEN not in str(err.value)
    assert data_sources.list_sources(backends, scope) == []


def test_unknown_kind_is_invalid_input(backends, scope, connector):
    with pytest.raises(InvalidInput, match="unknown data source kind 'ftp'"):
        data_sources.create(
            backends, scope, name="x", kind="ftp", config={}, credentials={"token": "t"}
        )


def test_names_are_unique_per_workspace(backends, scope, connector):
    _create(backends, scope)
    with pytest.raises(AlreadyExists):
        _create(backends, scope)
    _create(backends, Scope("ws_2"))


def test_sources_of_another_workspace_are_not_found(backends, scope, connector):
    src = _create(backends, scope)
    other = Scope("ws_other")
    for call in (
        lambda: data_sources.get(backends, other, src.id),
        lambda: data_sources.snapshot(backends, other, src.id, {"table": "t"}),
        lambda: data_sources.delete(backends, other, src.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert data_sources.list_sources(backends, other) == []
    assert connector.seen_credentials is None


def test_viewers_may_read_but_not_create_snapshot_or_delete(backends, scope, connector):
    src = _create(backends, scope)
    viewer = Scope(scope.workspace_id, user_id="usr_v", role=Role.VIEWER)
    assert data_sources.get(backends, viewer, src.id).id == src.id
    for call in (
        lambda: _create(backends, viewer, name="mine"),
        lambda: data_sources.snapshot(backends, viewer, src.id, {"table": "t"}),
        lambda: data_sources.delete(backends, viewer, src.id),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_deleted_source_is_gone_and_its_snapshots_stay(backends, scope, connector):
    src = _create(backends, scope)
    ds = data_sources.snapshot(backends, scope, src.id, {"table": "t"})
    data_sources.delete(backends, scope, src.id)
    with pytest.raises(NotFound):
        data_sources.get(backends, scope, src.id)
    assert datasets.get(backends, scope, ds.id).id == ds.id


def _experiment(backends, scope, target="target") -> Experiment:
    exp = Experiment(scope.workspace_id, "prj_1", "e", target)
    with backends.metadata.unit_of_work() as uow:
        uow.experiments.add(exp)
    return exp


def test_a_run_starts_from_a_source_on_a_fresh_snapshot(backends, scope, connector):
    src = _create(backends, scope)
    exp = _experiment(backends, scope)
    run = training.start_experiment_run(
        backends, scope, exp.id, data_source_id=src.id, source_request={"table": "t"}
    )
    assert runs.get(backends, scope, run.id).status is RunStatus.QUEUED
    ds = datasets.get(backends, scope, run.dataset_id)
    assert (ds.n_rows, ds.name) == (4, "warehouse.csv")


def test_a_refused_run_from_a_source_leaves_no_snapshot(backends, scope, connector):
    src = _create(backends, scope)
    exp = _experiment(backends, scope, target="missing")
    with pytest.raises(InvalidInput, match="unknown target column"):
        training.start_experiment_run(
            backends, scope, exp.id, data_source_id=src.id, source_request={"table": "t"}
        )
    assert datasets.list_datasets(backends, scope) == []
    assert list(backends.blobs.list_keys("")) == []


def test_a_run_needs_exactly_one_of_dataset_and_source(backends, scope, connector):
    exp = _experiment(backends, scope)
    with pytest.raises(InvalidInput, match="exactly one"):
        training.start_experiment_run(backends, scope, exp.id)
    with pytest.raises(InvalidInput, match="exactly one"):
        training.start_experiment_run(
            backends, scope, exp.id, dataset_id="ds_1", data_source_id="src_1"
        )
