"""Datasets: ingest a CSV (file or DataFrame) into storage with its sha256, and load it back verified."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlsmith.core.domain import Dataset, new_id
from mlsmith.core.errors import IntegrityError, InvalidInput
from mlsmith.core.hashing import HashingReader
from mlsmith.core.services.scope import Scope
from mlsmith.core.storage_keys import join_key

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.backends import Backends


def dataset_key(scope: Scope, dataset_id: str) -> str:
    return join_key("workspaces", scope.workspace_id, "datasets", dataset_id, "data.csv")


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
    ds_id = new_id("ds")
    key = dataset_key(scope, ds_id)
    info = backends.blobs.put(key, stream)
    try:
        with backends.blobs.open(key) as stored:
            df = _parse(stored, name)
    except InvalidInput:
        backends.blobs.delete(key)
        raise
    ds = Dataset(
        id=ds_id,
        workspace_id=scope.workspace_id,
        name=Path(name).name[:255],
        storage_key=key,
        sha256=info.sha256,
        size_bytes=info.size,
        n_rows=len(df),
        n_cols=df.shape[1],
        columns=[{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()],
    )
    with backends.metadata.unit_of_work() as uow:
        uow.datasets.add(ds)
    return ds


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A local CSV as a frame (for predict inputs), with the same InvalidInput errors as ingest."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"file not found: {p}", path=str(p))
    with p.open("rb") as fh:
        return _parse(fh, p.name)


def get(backends: Backends, scope: Scope, dataset_id: str) -> Dataset:
    with backends.metadata.unit_of_work() as uow:
        ds = uow.datasets.get(dataset_id)
    scope.check(ds, "dataset", dataset_id)
    return ds


def load_frame(backends: Backends, ds: Dataset) -> pd.DataFrame:
    """Read the stored CSV, refusing bytes whose sha256 differs from the one recorded at upload."""
    with backends.blobs.open(ds.storage_key) as raw:
        reader = HashingReader(raw)
        df = _parse(reader, ds.name)
        digest = reader.drain()
    if digest != ds.sha256:
        raise IntegrityError(f"dataset {ds.id} changed in storage since upload", dataset_id=ds.id)
    return df


def _parse(stream, name: str) -> pd.DataFrame:
    import pandas as pd

    try:
        df = pd.read_csv(stream, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput(f"{name}: the CSV file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a readable CSV file ({str(exc).splitlines()[0]})") from exc
    if df.shape[0] == 0:
        raise InvalidInput(f"{name}: the CSV file has a header but no rows")
    return df
