"""Storage port: opaque blobs addressed by platform-made keys.

Keys are relative, '/'-separated and canonicalised by :func:`mlsmith.core.storage_keys.canonical_key`;
every adapter calls it and so rejects ``..``, absolute paths, backslashes, ``#``, ``?`` and
percent-encoded spellings of those with :class:`~mlsmith.core.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    sha256: str  # hex digest of the bytes stored


@runtime_checkable
class BlobStore(Protocol):
    def put(self, key: str, stream: BinaryIO) -> BlobInfo:
        """Stream ``stream`` to ``key`` (overwriting), hashing on the fly; readers never see a
        partial object (temp file + atomic rename, or multipart completion)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open for streamed reading. Raises NotFound."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Delete one key; deleting a missing key is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under ``prefix``; returns how many were deleted."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, sorted."""
        ...

    def ping(self) -> None:
        """Raise BackendUnavailable when the store cannot be reached."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PresignsUrls(Protocol):
    """Optional capability of a BlobStore."""

    def presign(self, key: str, expires_s: int) -> str: ...
