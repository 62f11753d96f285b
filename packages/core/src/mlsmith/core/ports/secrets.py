"""Secrets port: encrypt and decrypt small values (credentials, platform keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class SecretStore(Protocol):
    def encrypt(self, plaintext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        """Authenticated encryption. ``context`` (e.g. ``{"workspace_id": ...}``) is bound to the
        ciphertext where the backend supports it: decrypting with another context fails."""
        ...

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        """Raises IntegrityError for a wrong key, a wrong context or tampered bytes. The error
        message never contains plaintext or key material."""
        ...

    def rotate(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        """Re-encrypt under the current primary key (after a key rotation)."""
        ...

    def close(self) -> None: ...
