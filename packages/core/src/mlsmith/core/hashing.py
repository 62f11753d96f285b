"""Hash bytes while they stream past, so verifying a download costs no second pass."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, BinaryIO


class HashingReader:
    """A read-only file-like wrapper that SHA-256s everything read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._h = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        chunk = self._raw.read(n)
        self._h.update(chunk)
        return chunk

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def drain(self) -> str:
        """Read what is left (for a complete hash) and return the digest."""
        while self.read(1 << 20):
            pass
        return self.hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(key: bytes, obj: Any) -> str:
    return hmac.new(key, canonical_json(obj), hashlib.sha256).hexdigest()


def verify(key: bytes, obj: Any, signature: str) -> bool:
    return hmac.compare_digest(sign(key, obj), signature)
