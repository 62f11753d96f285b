from __future__ import annotations

import hashlib
import io

import pytest

from mlsmith.core.errors import IntegrityError, InvalidInput, NotFound
from mlsmith.core.services import datasets
from mlsmith.core.services.scope import Scope


def test_ingested_dataset_records_size_sha256_and_shape(backends, scope, iris_frame):
    ds = datasets.ingest_frame(backends, scope, iris_frame, name="iris.csv")
    with backends.blobs.open(ds.storage_key) as fh:
        stored = fh.read()
    assert ds.sha256 == hashlib.sha256(stored).hexdigest()
    assert ds.size_bytes == len(stored)
    assert (ds.n_rows, ds.n_cols) == (150, 5)
    assert [c["name"] for c in ds.columns][-1] == "target"
    assert datasets.load_frame(backends, ds).shape == (150, 5)


def test_user_file_name_never_reaches_the_storage_key(backends, scope):
    ds = datasets.ingest_stream(backends, scope, io.BytesIO(b"a,b\n1,2\n"), name="../../etc/passwd")
    assert ".." not in ds.storage_key
    assert ds.storage_key.startswith(f"workspaces/{scope.workspace_id}/datasets/{ds.id}/")
    assert ds.name == "passwd"


@pytest.mark.parametrize("content", [b"", b"a,b\n"])
def test_empty_csv_is_refused_and_leaves_nothing_stored(backends, scope, content):
    with pytest.raises(InvalidInput, match=r"empty|no rows"):
        datasets.ingest_stream(backends, scope, io.BytesIO(content), name="empty.csv")
    assert list(backends.blobs.list_keys("workspaces")) == []


def test_missing_file_is_a_clear_error(backends, scope, tmp_path):
    with pytest.raises(InvalidInput, match="file not found"):
        datasets.ingest_file(backends, scope, tmp_path / "nope.csv")


def test_dataset_changed_in_storage_is_refused(backends, scope, iris_frame):
    ds = datasets.ingest_frame(backends, scope, iris_frame)
    backends.blobs.put(ds.storage_key, io.BytesIO(b"sepal,target\n1,a\n2,b\n"))
    with pytest.raises(IntegrityError):
        datasets.load_frame(backends, ds)


def test_dataset_of_another_workspace_is_not_found(backends, scope, iris_frame):
    ds = datasets.ingest_frame(backends, scope, iris_frame)
    with pytest.raises(NotFound):
        datasets.get(backends, Scope("ws_other"), ds.id)
