"""SecretStore on AWS KMS envelope encryption (``kms://<key id, key ARN or alias/name>``).

Each value gets its own 256-bit data key from KMS GenerateDataKey; the value is sealed locally with
AES-256-GCM under that key and the KMS-encrypted copy of the data key travels with it:

    b"MLK" | version (1 byte) | len(wrapped key) (2 bytes, big-endian) | wrapped key | nonce (12) | ciphertext+tag

The context (``{workspace_id, secret_id}`` in practice; any mapping, values stringified) is bound
twice: as the KMS EncryptionContext of the data key, and, with the header's magic and version, as
the AES-GCM associated data. Decryption also checks that KMS used one of the configured keys, so a
value wrapped under some other key the caller may use is refused too.

``rotate`` verifies the whole envelope and re-wraps the data key with KMS ReEncrypt under the
current key (its current key material after a KMS key rotation, or the new key after moving to
another one; the old key is then listed in ``previous_keys`` until every value was rotated).

Every decryption failure is one IntegrityError with one message: which check failed is itself
information, and neither plaintext nor context ever appears in it (nor in a chained exception).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from mlsmith.core.errors import (
    BackendUnavailable,
    ConfigError,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
)

_SCHEME = "kms://"
_MAGIC = b"MLK"
_VERSION = 1
_HEADER = struct.Struct(">3sBH")  # magic, version, wrapped-key length
_NONCE = 12
_TAG = 16
_FAILED = "secret could not be decrypted (wrong key, wrong context or corrupted)"

# KMS answers these for a ciphertext that is not for this key/context: an integrity failure.
_INTEGRITY_CODES = {"InvalidCiphertextException"}
# Decrypt answers these for a data key wrapped under another key: IncorrectKeyException (KMS,
# another key of ours), AccessDeniedException (KMS for a key we may not use; moto for a KeyId
# mismatch). Either way not one of the configured keys: try the next one, then IntegrityError.
# (A denied *own* key shows up on encrypt, as PermissionDenied.)
_OTHER_KEY_CODES = {"IncorrectKeyException", "AccessDeniedException"}
_DENIED_CODES = {"AccessDeniedException", "UnrecognizedClientException"}
_INVALID_CODES = {"ValidationException", "InvalidGrantTokenException"}


class _Failed(Exception):
    """Internal marker: the envelope did not verify (turned into one IntegrityError)."""


class KmsSecretStore:
    def __init__(self, client: Any, key_id: str, previous_keys: Sequence[str] = ()) -> None:
        """``client``: a boto3 KMS client; ``key_id`` wraps new values; ``previous_keys`` only
        unwrap (values still wrapped under a key being retired)."""
        if not key_id:
            raise ConfigError("KmsSecretStore needs a key id")
        self._kms = client
        self._key_id = key_id
        self._previous = [k for k in previous_keys if k and k != key_id]
        self._arns: dict[str, str] | None = None  # key id as configured -> key ARN (lazily)
        self._lock = threading.Lock()

    # -- port ---------------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ctx = _context(context)
        response = self._call(
            "generate_data_key", KeyId=self._key_id, KeySpec="AES_256", **_kms_context(ctx)
        )
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(response["Plaintext"]).encrypt(nonce, bytes(plaintext), _aad(ctx))
        return _pack(response["CiphertextBlob"], nonce, sealed)

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        ctx = _context(context)
        failed = False
        try:
            plaintext, _ = self._open(ciphertext, ctx)
        except _Failed:
            failed = True
        if failed:  # raised outside the except block: no chained exception to leak anything
            raise IntegrityError(_FAILED)
        return plaintext

    def rotate(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        ctx = _context(context)
        failed = False
        try:
            _, source_arn = self._open(ciphertext, ctx)  # the whole envelope verifies first
            wrapped, nonce, sealed = _unpack(ciphertext)
        except _Failed:
            failed = True
        if failed:
            raise IntegrityError(_FAILED)
        response = self._call(
            "re_encrypt",
            CiphertextBlob=wrapped,
            SourceKeyId=source_arn,
            DestinationKeyId=self._key_id,
            **_re_encrypt_context(ctx),
        )
        return _pack(response["CiphertextBlob"], nonce, sealed)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self._kms.close()

    # -- internals ----------------------------------------------------------------------------

    def _open(self, ciphertext: bytes, ctx: dict[str, str]) -> tuple[bytes, str]:
        """Plaintext and the ARN of the key that wrapped it; raises _Failed on any mismatch."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        wrapped, nonce, sealed = _unpack(ciphertext)
        for arn in self._allowed_arns():
            response = self._unwrap(wrapped, arn, ctx)
            # Checked here as well: a KMS that ignores KeyId must not let another key through.
            if response is None or response.get("KeyId") != arn:
                continue
            try:
                plaintext = AESGCM(response["Plaintext"]).decrypt(nonce, sealed, _aad(ctx))
            except (InvalidTag, ValueError):
                raise _Failed from None
            return plaintext, arn
        raise _Failed

    def _unwrap(self, wrapped: bytes, arn: str, ctx: dict[str, str]) -> Any:
        """KMS Decrypt of the data key under ``arn``; None when it was wrapped under another key
        (KeyId is always given: KMS then never uses a key the blob names but we did not choose)."""
        from botocore.exceptions import ClientError

        try:
            return self._kms.decrypt(CiphertextBlob=wrapped, KeyId=arn, **_kms_context(ctx))
        except ClientError as exc:
            code = _code(exc)
            if code in _OTHER_KEY_CODES:
                return None
            error = _Failed() if code in _INTEGRITY_CODES else _converted(exc)
        except Exception as exc:
            error = _converted(exc)
        raise error  # outside the except block: KMS messages may echo the context

    def _allowed_arns(self) -> list[str]:
        """ARNs of the current key and the previous ones (DescribeKey once, resolving aliases)."""
        with self._lock:
            if self._arns is None:
                arns: dict[str, str] = {}
                for key in [self._key_id, *self._previous]:
                    meta = self._call("describe_key", KeyId=key)["KeyMetadata"]
                    arns[key] = meta["Arn"]
                self._arns = arns
            return list(dict.fromkeys(self._arns.values()))

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._kms, operation)(**kwargs)
        except Exception as exc:
            error = _converted(exc)
        raise error from None  # KMS messages may echo the context: never chained


def _context(context: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in sorted((context or {}).items())}


def _kms_context(ctx: dict[str, str]) -> dict[str, Any]:
    return {"EncryptionContext": ctx} if ctx else {}


def _re_encrypt_context(ctx: dict[str, str]) -> dict[str, Any]:
    if not ctx:
        return {}
    return {"SourceEncryptionContext": ctx, "DestinationEncryptionContext": ctx}


def _aad(ctx: dict[str, str]) -> bytes:
    canonical = json.dumps(ctx, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _MAGIC + bytes([_VERSION]) + canonical.encode()


def _pack(wrapped: bytes, nonce: bytes, sealed: bytes) -> bytes:
    if len(wrapped) > 0xFFFF:
        raise BackendUnavailable("KMS returned an unexpectedly large data key")
    return _HEADER.pack(_MAGIC, _VERSION, len(wrapped)) + wrapped + nonce + sealed


def _unpack(envelope: bytes) -> tuple[bytes, bytes, bytes]:
    if not isinstance(envelope, bytes | bytearray) or len(envelope) < _HEADER.size:
        raise _Failed
    magic, version, length = _HEADER.unpack_from(envelope)
    body = bytes(envelope[_HEADER.size :])
    if magic != _MAGIC or version != _VERSION or length == 0 or len(body) < length + _NONCE + _TAG:
        raise _Failed
    return body[:length], body[length : length + _NONCE], body[length + _NONCE :]


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)


def _converted(exc: Exception) -> Exception:
    """A core error for a botocore error; the message carries the KMS error code only."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in _DENIED_CODES:
            return PermissionDenied(f"KMS denied the request ({code})")
        if code in _INVALID_CODES:
            return InvalidInput(f"KMS refused the request ({code})")
        return BackendUnavailable(f"KMS request failed ({code})")
    if isinstance(exc, BotoCoreError):
        return BackendUnavailable(f"KMS is not reachable ({type(exc).__name__})")
    return exc


# -- builder ----------------------------------------------------------------------------------


class KmsOptions(BaseModel, extra="forbid"):
    endpoint_url: str | None = None
    region: str | None = None
    previous_keys: list[str] = []  # keys being retired: they only unwrap

    @field_validator("previous_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # From the environment the list arrives as one string: "alias/old,alias/older".
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value


def build(url: str, options: Mapping[str, Any], ctx: object = None) -> KmsSecretStore:
    import boto3  # lazy: choosing "fernet-file" never imports it
    from botocore.config import Config

    if not url.lower().startswith(_SCHEME):
        raise ConfigError(f"MLSMITH_SECRETS_URL must start with {_SCHEME}", setting="secrets_url")
    key_id = url[len(_SCHEME) :]
    if not key_id or any(c.isspace() for c in key_id):
        raise ConfigError(
            "MLSMITH_SECRETS_URL needs a KMS key: kms://alias/name, kms://<key id> or kms://<arn>",
            setting="secrets_url",
        )
    try:
        opts = KmsOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"invalid secrets options: {exc}", setting="secrets_options") from exc
    # Credentials come from the standard chain (environment, profile, instance/task role).
    client = boto3.session.Session().client(
        "kms",
        endpoint_url=opts.endpoint_url,
        region_name=opts.region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )
    return KmsSecretStore(client, key_id, opts.previous_keys)
