"""Fake SecretStore: stdlib-only authenticated encryption, good enough for tests, not for data.

Layout: ``version(1) || nonce(16) || ciphertext || tag(32)``. The keystream is
``SHA-256(enc_key || nonce || counter)`` blocks; the tag is HMAC-SHA256 over
``nonce || len(context) || context || ciphertext``, so the context is bound like AEAD associated data.
Stateless after construction, hence thread-safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping

from mlsmith.core.errors import IntegrityError, InvalidInput

_VERSION = b"\x01"
_NONCE = 16
_TAG = 32


class FakeSecretStore:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise InvalidInput("fake secret key must be at least 32 bytes")
        # Separate keys for encryption and authentication, derived from the one key.
        self._enc_key = hmac.digest(key, b"enc", "sha256")
        self._mac_key = hmac.digest(key, b"mac", "sha256")

    def encrypt(self, plaintext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        nonce = os.urandom(_NONCE)
        body = _xor(plaintext, self._keystream(nonce, len(plaintext)))
        return _VERSION + nonce + body + self._tag(nonce, context, body)

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        if len(ciphertext) < 1 + _NONCE + _TAG or ciphertext[:1] != _VERSION:
            raise IntegrityError("secret could not be decrypted")
        nonce, body, tag = (
            ciphertext[1 : 1 + _NONCE],
            ciphertext[1 + _NONCE : -_TAG],
            ciphertext[-_TAG:],
        )
        if not hmac.compare_digest(tag, self._tag(nonce, context, body)):
            raise IntegrityError("secret could not be decrypted")
        return _xor(body, self._keystream(nonce, len(body)))

    def rotate(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        return self.encrypt(self.decrypt(ciphertext, context), context)

    def close(self) -> None:
        return None

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        stream = b"".join(
            hashlib.sha256(self._enc_key + nonce + i.to_bytes(8, "big")).digest()
            for i in range(blocks)
        )
        return stream[:length]

    def _tag(self, nonce: bytes, context: Mapping[str, str] | None, body: bytes) -> bytes:
        ctx = canonical_context(context)
        message = nonce + len(ctx).to_bytes(8, "big") + ctx + body
        return hmac.digest(self._mac_key, message, "sha256")


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """One byte string per context; key order does not matter, ``None`` equals ``{}``."""
    return json.dumps(
        dict(context or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")
