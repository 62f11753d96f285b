"""Untrusted uploads: sniffed, capped on the bytes read, hashed in the same pass, and refused without
leaving anything in storage; preview, listing and deletion."""

from __future__ import annotations

import hashlib
import io
import pickle

import pytest

from mlsmith.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from mlsmith.core.services import datasets, training
from mlsmith.core.services.scope import Scope

CSV = b"a,b,label\n1,2.5,x\n3,,y\n5,6.5,x\n"


class _Chunks(io.RawIOBase):
    """A stream that yields its data in small reads and records how much was pulled from it."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        self._data, self._pos, self._chunk = data, 0, chunk

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._chunk if n < 0 else min(n, self._chunk)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    @property
    def pulled(self) -> int:
        return self._pos


def _upload(backends, scope, data: bytes, filename: str = "d.csv", **kw):
    kw.setdefault("max_bytes", 10_000)
    return datasets.ingest_upload(backends, scope, io.BytesIO(data), filename=filename, **kw)


def _stored(backends) -> list[str]:
    return list(backends.blobs.list_keys(""))


def test_upload_records_sha256_of_the_stored_bytes_and_typed_columns(backends, scope):
    ds = datasets.ingest_upload(
        backends, scope, _Chunks(CSV), filename="measurements.csv", max_bytes=len(CSV)
    )
    assert ds.sha256 == hashlib.sha256(CSV).hexdigest() and ds.size_bytes == len(CSV)
    assert (ds.n_rows, ds.n_cols) == (3, 3)
    dtypes = {c["name"]: c["dtype"] for c in ds.columns}
    assert (dtypes["a"], dtypes["b"]) == ("int64", "float64")
    assert dtypes["label"] in ("object", "str")  # pandas 2 / pandas 3
    assert datasets.load_frame(backends, ds).shape == (3, 3)


def test_tsv_is_split_on_tabs_by_its_extension(backends, scope):
    ds = _upload(backends, scope, b"a\tb c\n1\tx y\n2\tz\n", filename="t.TSV")
    assert [c["name"] for c in ds.columns] == ["a", "b c"]
    assert ds.storage_key.endswith("/data.tsv")
    assert datasets.load_frame(backends, ds)["b c"].tolist() == ["x y", "z"]


def test_oversize_upload_stops_reading_at_the_cap_and_leaves_nothing(backends, scope):
    data = CSV + b"7,8.5,z\n" * 10_000
    stream = _Chunks(data, chunk=4096)
    with pytest.raises(PayloadTooLarge):
        datasets.ingest_upload(backends, scope, stream, filename="big.csv", max_bytes=70_000)
    assert stream.pulled < 70_000 + 64 * 1024 + 4096  # never read far past the cap
    assert _stored(backends) == []
    assert datasets.list_datasets(backends, scope) == []


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"PK\x03\x04" + b"\x00" * 40, "archive.csv"),
        (b"\x1f\x8b\x08\x00" + b"x" * 40, "data.csv"),
        (pickle.dumps({"a": 1}), "model.csv"),
        (b"\x7fELF\x02\x01\x01" + b"a" * 30, "x.csv"),
        (b"a,b\n1,\x002\n", "nul.csv"),
        (b"a,b\n\xff\xfe,1\n", "latin.csv"),
        (CSV, "data.xlsx"),
        (CSV, "data"),
        (CSV, "data.csv.exe"),
    ],
)
def test_non_text_content_or_extension_is_unsupported_and_not_stored(
    backends, scope, content, filename
):
    with pytest.raises(UnsupportedMediaType):
        _upload(backends, scope, content, filename)
    assert _stored(backends) == []


def test_nul_byte_after_the_sniffed_head_is_refused_too(backends, scope):
    data = b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x00\n"
    with pytest.raises(UnsupportedMediaType):
        _upload(backends, scope, data, max_bytes=1 << 20)
    assert _stored(backends) == []


def test_a_multibyte_character_cut_by_the_sniff_window_is_still_utf8(backends, scope):
    head = b"name,n\n"
    filler = b"ab,1\n" * ((64 * 1024 - len(head)) // 5)
    pad = b"a" * (64 * 1024 - len(head) - len(filler) - 1)
    data = head + filler + pad + "é,2\n".encode()  # "é" straddles byte 65536
    ds = _upload(backends, scope, data, max_bytes=1 << 20)
    assert ds.n_rows > 10_000


def test_column_and_line_limits_are_invalid_input(backends, scope):
    wide = ",".join(f"c{i}" for i in range(30)).encode() + b"\n" + b"1," * 29 + b"1\n"
    with pytest.raises(InvalidInput, match="columns"):
        _upload(backends, scope, wide, max_columns=20)
    long_line = b"a,b\n1," + b"x" * 5000 + b"\n2,y\n"
    with pytest.raises(InvalidInput, match="line exceeds"):
        _upload(backends, scope, long_line, max_line_bytes=1000)
    assert _stored(backends) == []


def test_line_limit_counts_a_line_spanning_several_reads(backends, scope):
    data = b"a,b\n1," + b"x" * 3000 + b"\n"
    stream = _Chunks(data, chunk=100)
    with pytest.raises(InvalidInput, match="line exceeds"):
        datasets.ingest_upload(
            backends, scope, stream, filename="l.csv", max_bytes=10_000, max_line_bytes=1000
        )
    ok = datasets.ingest_upload(
        backends, scope, _Chunks(data, 100), filename="l.csv", max_bytes=10_000
    )
    assert ok.n_rows == 1


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd.csv", "..\\..\\windows\\x.csv", "/abs/olute.csv", "%2e%2e%2fx.csv"],
)
def test_traversal_file_name_is_metadata_and_the_key_is_platform_made(backends, scope, filename):
    ds = _upload(backends, scope, CSV, filename)
    assert ds.storage_key == f"workspaces/{scope.workspace_id}/datasets/{ds.id}/data.csv"
    assert "/" not in ds.name and "\\" not in ds.name and not ds.name.startswith(".")
    assert _stored(backends) == [ds.storage_key]


def test_unparseable_csv_is_invalid_and_not_stored(backends, scope):
    with pytest.raises(InvalidInput):
        _upload(backends, scope, b"a,b\n")
    with pytest.raises(InvalidInput):
        _upload(backends, scope, b"")
    assert _stored(backends) == []


def test_preview_returns_typed_columns_and_capped_json_rows(backends, scope):
    ds = _upload(backends, scope, CSV)
    p = datasets.preview(backends, scope, ds.id, rows=2)
    assert p["columns"] == ds.columns and p["n_rows"] == 3
    assert p["rows"] == [[1, 2.5, "x"], [3, None, "y"]]
    big = _upload(backends, scope, b"a\n" + b"1\n" * 500)
    assert len(datasets.preview(backends, scope, big.id, rows=10_000)["rows"]) == (
        datasets.MAX_PREVIEW_ROWS
    )
    with pytest.raises(NotFound):
        datasets.preview(backends, Scope("ws_other"), ds.id, rows=2)


def test_list_is_paginated_and_scoped(backends, scope):
    ids = {_upload(backends, scope, CSV).id for _ in range(3)}
    page1 = datasets.list_datasets(backends, scope, limit=2, offset=0)
    page2 = datasets.list_datasets(backends, scope, limit=2, offset=2)
    assert len(page1) == 2 and len(page2) == 1
    assert {d.id for d in page1 + page2} == ids
    assert datasets.list_datasets(backends, Scope("ws_other")) == []


def test_delete_is_refused_while_an_active_run_uses_the_dataset(backends, scope):
    ds = _upload(backends, scope, CSV)
    run = training.start_run(backends, scope, ds.id, "label", folds=2)
    with pytest.raises(Conflict):
        datasets.delete(backends, scope, ds.id)
    training.cancel_run(backends, scope, run.id)
    datasets.delete(backends, scope, ds.id)
    assert _stored(backends) == []
    with pytest.raises(NotFound):
        datasets.get(backends, scope, ds.id)


def test_delete_of_another_workspaces_dataset_is_not_found(backends, scope):
    ds = _upload(backends, scope, CSV)
    with pytest.raises(NotFound):
        datasets.delete(backends, Scope("ws_other"), ds.id)
    assert _stored(backends) == [ds.storage_key]
