"""In-memory BlobStore for core unit tests. Stdlib only, thread-safe."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from mlsmith.core.errors import NotFound
from mlsmith.core.ports.storage import BlobInfo
from mlsmith.core.storage_keys import canonical_key, is_under

_CHUNK = 1024 * 1024


class InMemoryBlobStore:
    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, stream: BinaryIO) -> BlobInfo:
        key = canonical_key(key)
        # Read the whole stream before touching the dict: a stream failing mid-way leaves nothing.
        buffer, digest = bytearray(), hashlib.sha256()
        while chunk := stream.read(_CHUNK):
            buffer += chunk
            digest.update(chunk)
        data = bytes(buffer)
        with self._lock:
            self._objects[key] = data
        return BlobInfo(key=key, size=len(data), sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        key = canonical_key(key)
        with self._lock:
            try:
                data = self._objects[key]
            except KeyError:
                raise NotFound(f"no blob at {key!r}", key=key) from None
        return io.BytesIO(data)

    def exists(self, key: str) -> bool:
        key = canonical_key(key)
        with self._lock:
            return key in self._objects

    def delete(self, key: str) -> None:
        key = canonical_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        prefix = canonical_key(prefix, allow_empty=True)
        with self._lock:
            doomed = [k for k in self._objects if is_under(k, prefix)]
            for k in doomed:
                del self._objects[k]
        return len(doomed)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Validated eagerly (not inside a generator) so a bad prefix fails at the call.
        prefix = canonical_key(prefix, allow_empty=True)
        with self._lock:
            keys = sorted(k for k in self._objects if is_under(k, prefix))
        return iter(keys)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
