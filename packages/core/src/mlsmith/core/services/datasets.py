"""Datasets: ingest a CSV/TSV (file, DataFrame or untrusted upload) into storage with its sha256,
preview it, and load it back verified.

Uploads (``ingest_upload``) are untrusted: the first 64 KiB are sniffed before anything is stored,
the size cap is counted on the bytes actually read, the sha256 comes from the same pass (the storage
put), and any refusal leaves nothing in storage. The user's file name is metadata only.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mlsmith.core.domain import Dataset, RunStatus, new_id
from mlsmith.core.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from mlsmith.core.hashing import HashingReader
from mlsmith.core.services.scope import Scope
from mlsmith.core.storage_keys import join_key

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.backends import Backends


SNIFF_BYTES = 64 * 1024
MAX_COLUMNS = 2_000
MAX_LINE_BYTES = 1024 * 1024
MAX_PREVIEW_ROWS = 100
_CHUNK = 1024 * 1024
_EXTENSIONS = {".csv": ",", ".tsv": "\t"}
# Magic numbers of content that is never a text table: archives, compressed streams, pickles,
# executables. Checked on the first bytes of the upload, before anything is stored.
_MAGIC = (
    (b"PK\x03\x04", "zip archive"),
    (b"PK\x05\x06", "zip archive"),
    (b"\x1f\x8b", "gzip stream"),
    (b"BZh", "bzip2 stream"),
    (b"\xfd7zXZ\x00", "xz stream"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x28\xb5\x2f\xfd", "zstd stream"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"%PDF", "PDF document"),
    (b"\x89HDF", "HDF5 file"),
    (b"PAR1", "Parquet file"),
    (b"\xd0\xcf\x11\xe0", "OLE document"),
)
_PICKLE = re.compile(rb"\x80[\x02-\x05]")  # pickle protocols 2..5 start with PROTO <n>
_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+,=@-]")


def dataset_key(scope: Scope, dataset_id: str, ext: str = "csv") -> str:
    return join_key("workspaces", scope.workspace_id, "datasets", dataset_id, f"data.{ext}")


def sanitize_filename(filename: str | None, default: str = "upload.csv") -> str:
    """A display name from an untrusted file name: the last path segment (either slash), normalised
    to NFC, without control or unusual characters, at most 255 characters. Metadata only."""
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    return name[-255:] if name else default


def ingest_upload(
    backends: Backends,
    scope: Scope,
    stream: BinaryIO,
    *,
    filename: str | None,
    max_bytes: int,
    max_columns: int = MAX_COLUMNS,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Dataset:
    """Ingest an untrusted upload: ``.csv``/``.tsv`` only, sniffed (UTF-8, no NUL, no archive,
    pickle or executable magic), at most ``max_bytes`` read, ``max_columns`` columns and
    ``max_line_bytes`` per line. Raises UnsupportedMediaType (415), PayloadTooLarge (413) or
    InvalidInput (422) and then leaves nothing in storage."""
    name = sanitize_filename(filename)
    ext = Path(name).suffix.lower()
    if ext not in _EXTENSIONS:
        raise UnsupportedMediaType(
            "only .csv and .tsv files can be uploaded", filename=name, accepted=[".csv", ".tsv"]
        )
    sep = _EXTENSIONS[ext]
    head = _read_up_to(stream, SNIFF_BYTES)
    _sniff(head, name)
    _check_header(head, sep, name, max_columns)
    ds_id = new_id("ds")
    key = dataset_key(scope, ds_id, ext.lstrip("."))
    reader = _GuardedReader(head, stream, max_bytes=max_bytes, max_line_bytes=max_line_bytes)
    try:
        info = backends.blobs.put(key, reader)
        with backends.blobs.open(key) as stored:
            df = _parse(stored, name, sep=sep)
        if df.shape[1] > max_columns:
            raise InvalidInput(
                f"{name}: {df.shape[1]} columns; at most {max_columns} are accepted",
                columns=df.shape[1],
                max_columns=max_columns,
            )
        ds = _dataset(ds_id, scope, name, key, info.sha256, info.size, df)
        with backends.metadata.unit_of_work() as uow:
            uow.datasets.add(ds)
    except BaseException:
        backends.blobs.delete(key)  # a refused or broken upload leaves nothing behind
        raise
    return ds


def ingest_file(backends: Backends, scope: Scope, path: str | os.PathLike) -> Dataset:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"file not found: {p}", path=str(p))
    with p.open("rb") as fh:
        return ingest_stream(backends, scope, fh, name=p.name)


def ingest_frame(
    backends: Backends, scope: Scope, df: pd.DataFrame, name: str = "frame.csv"
) -> Dataset:
    buf = io.BytesIO(df.to_csv(index=False).encode())
    return ingest_stream(backends, scope, buf, name=name)


def ingest_stream(backends: Backends, scope: Scope, stream: BinaryIO, *, name: str) -> Dataset:
    """Ingest a trusted local stream (CLI, embedded API); ``.tsv`` names are read tab-separated."""
    ds_id = new_id("ds")
    ext = "tsv" if Path(name).suffix.lower() == ".tsv" else "csv"
    key = dataset_key(scope, ds_id, ext)
    info = backends.blobs.put(key, stream)
    try:
        with backends.blobs.open(key) as stored:
            df = _parse(stored, name, sep=_sep_of(key))
    except InvalidInput:
        backends.blobs.delete(key)
        raise
    ds = _dataset(ds_id, scope, Path(name).name[:255], key, info.sha256, info.size, df)
    with backends.metadata.unit_of_work() as uow:
        uow.datasets.add(ds)
    return ds


def _dataset(
    ds_id: str, scope: Scope, name: str, key: str, sha256: str, size: int, df: pd.DataFrame
) -> Dataset:
    return Dataset(
        id=ds_id,
        workspace_id=scope.workspace_id,
        name=name,
        storage_key=key,
        sha256=sha256,
        size_bytes=size,
        n_rows=len(df),
        n_cols=df.shape[1],
        columns=[{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()],
    )


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A local CSV as a frame (for predict inputs), with the same InvalidInput errors as ingest."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"file not found: {p}", path=str(p))
    with p.open("rb") as fh:
        return _parse(fh, p.name, sep="\t" if p.suffix.lower() == ".tsv" else ",")


def get(backends: Backends, scope: Scope, dataset_id: str) -> Dataset:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        ds = uow.datasets.get(dataset_id)
    scope.check(ds, "dataset", dataset_id)
    return ds


def list_datasets(
    backends: Backends, scope: Scope, *, limit: int = 50, offset: int = 0
) -> list[Dataset]:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.datasets.list(scope.workspace_id, limit=limit, offset=offset)


def preview(backends: Backends, scope: Scope, dataset_id: str, rows: int = 20) -> dict[str, Any]:
    """Typed columns and the first ``rows`` rows (at most MAX_PREVIEW_ROWS), JSON-ready."""
    import pandas as pd

    ds = get(backends, scope, dataset_id)
    n = max(0, min(int(rows), MAX_PREVIEW_ROWS))
    names = [c["name"] for c in ds.columns]
    if n == 0:
        values: list[list[Any]] = []
    else:
        with backends.blobs.open(ds.storage_key) as raw:
            try:
                head = pd.read_csv(raw, sep=_sep_of(ds.storage_key), nrows=n, low_memory=False)
            except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
                raise IntegrityError(f"dataset {ds.id} is unreadable in storage") from exc
        values = json.loads(head.to_json(orient="values", date_format="iso"))
    return {
        "dataset_id": ds.id,
        "n_rows": ds.n_rows,
        "n_cols": ds.n_cols,
        "columns": ds.columns,
        "column_names": names,
        "rows": values,
    }


def delete(backends: Backends, scope: Scope, dataset_id: str) -> None:
    """Delete a dataset's stored file and row; refused (409) while a queued or running run uses it.
    Finished runs and model versions keep the dataset's id and sha256 in their lineage."""
    ds = get(backends, scope, dataset_id)
    with backends.metadata.unit_of_work() as uow:
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            offset = 0
            while page := uow.runs.list(
                scope.workspace_id, status=status, limit=500, offset=offset
            ):
                users = [r.id for r in page if r.dataset_id == ds.id]
                if users:
                    raise Conflict(
                        f"dataset {ds.id} is used by {status.value} run {users[0]}; "
                        "cancel it or wait for it to finish",
                        dataset_id=ds.id,
                        run_id=users[0],
                    )
                offset += len(page)
        uow.datasets.delete(ds.id)
    backends.blobs.delete(ds.storage_key)


def load_frame(backends: Backends, ds: Dataset) -> pd.DataFrame:
    """Read the stored table, refusing bytes whose sha256 differs from the one recorded at upload."""
    with backends.blobs.open(ds.storage_key) as raw:
        reader = HashingReader(raw)
        df = _parse(reader, ds.name, sep=_sep_of(ds.storage_key))
        digest = reader.drain()
    if digest != ds.sha256:
        raise IntegrityError(f"dataset {ds.id} changed in storage since upload", dataset_id=ds.id)
    return df


def _sep_of(key: str) -> str:
    """The delimiter follows the platform-made key's extension, never the user's file name."""
    return "\t" if key.endswith(".tsv") else ","


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def _sniff(head: bytes, name: str) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise UnsupportedMediaType(f"{name}: looks like a {what}, not a text table", kind=what)
    if _PICKLE.match(head):
        raise UnsupportedMediaType(f"{name}: looks like a Python pickle, not a text table")
    if b"\x00" in head:
        raise UnsupportedMediaType(f"{name}: contains NUL bytes; not a text table")
    try:  # not final: the 64 KiB cut may split a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType(f"{name}: not UTF-8 text") from exc


def _check_header(head: bytes, sep: str, name: str, max_columns: int) -> None:
    """Refuse too many columns from the header line alone, before storing or parsing anything."""
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    try:
        fields = next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return  # the parser gives the precise error later
    if len(fields) > max_columns:
        raise InvalidInput(
            f"{name}: {len(fields)} columns; at most {max_columns} are accepted",
            columns=len(fields),
            max_columns=max_columns,
        )


class _GuardedReader:
    """Serves the sniffed head, then the rest of the upload, counting every byte: more than
    ``max_bytes`` raises PayloadTooLarge, a line longer than ``max_line_bytes`` InvalidInput, a NUL
    byte anywhere UnsupportedMediaType. The storage put hashes what passes through."""

    def __init__(
        self, head: bytes, stream: BinaryIO, *, max_bytes: int, max_line_bytes: int
    ) -> None:
        self._head = head
        self._stream = stream
        self._max_bytes = max_bytes
        self._max_line = max_line_bytes
        self._line = 0  # length of the current (unterminated) line so far
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        size = _CHUNK if n is None or n < 0 else min(n, _CHUNK)
        if self._head:
            chunk, self._head = self._head[:size], self._head[size:]
        else:
            chunk = self._stream.read(size)
        if chunk:
            self._check(chunk)
        return chunk

    def _check(self, chunk: bytes) -> None:
        self.count += len(chunk)
        if self.count > self._max_bytes:
            raise PayloadTooLarge(
                f"upload exceeds the limit of {self._max_bytes} bytes", max_bytes=self._max_bytes
            )
        if b"\x00" in chunk:
            raise UnsupportedMediaType("upload contains NUL bytes; not a text table")
        first = chunk.find(b"\n")
        if first < 0:
            self._line += len(chunk)
        else:
            longest = self._line + first
            # Lines wholly inside this chunk are shorter than the chunk: only a chunk longer than
            # the limit needs splitting (never with the defaults, whose chunk equals the limit).
            if len(chunk) > self._max_line:
                inner = chunk[first + 1 : chunk.rfind(b"\n")].split(b"\n")
                longest = max(longest, *(len(seg) for seg in inner))
            self._line = len(chunk) - chunk.rfind(b"\n") - 1
            if longest > self._max_line:
                self._line = longest
        if self._line > self._max_line:
            raise InvalidInput(
                f"a line exceeds {self._max_line} bytes", max_line_bytes=self._max_line
            )


def _parse(stream, name: str, *, sep: str = ",") -> pd.DataFrame:
    import pandas as pd

    try:
        df = pd.read_csv(stream, sep=sep, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput(f"{name}: the CSV file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a readable CSV file ({str(exc).splitlines()[0]})") from exc
    if df.shape[0] == 0:
        raise InvalidInput(f"{name}: the CSV file has a header but no rows")
    return df
