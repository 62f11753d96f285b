"""SecretStore on a Fernet key file (``fernet-file://<absolute path of the key file>``).

The key file is created once (mode 0600, parent folder 0700) and reused after restarts. Older key
files listed in the ``previous_keys`` option still decrypt, through ``MultiFernet``; ``rotate``
re-encrypts under the current key.

Fernet has no associated data, so the context is bound inside the token: we encrypt
``sha256(canonical-json(context)) || plaintext`` and check that prefix on decrypt.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, ValidationError, field_validator

from mlsmith.core.errors import ConfigError, IntegrityError

_SCHEME = "fernet-file://"
_BINDING = hashlib.sha256().digest_size
# One message for every failure: which check failed (key, tag, context) is itself information.
_FAILED = "secret could not be decrypted (wrong key, wrong context or corrupted)"


class FernetSecretStore:
    def __init__(self, keys: Sequence[bytes]) -> None:
        """``keys``: Fernet keys, the current one first; the others only decrypt."""
        if not keys:
            raise ConfigError("FernetSecretStore needs at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        return self._fernet.encrypt(_binding(context) + plaintext)

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        try:
            payload = self._fernet.decrypt(ciphertext)
        except (InvalidToken, TypeError, ValueError):
            raise IntegrityError(_FAILED) from None
        if len(payload) < _BINDING or not hmac.compare_digest(
            payload[:_BINDING], _binding(context)
        ):
            raise IntegrityError(_FAILED)
        return payload[_BINDING:]

    def rotate(self, ciphertext: bytes, context: Mapping[str, str] | None = None) -> bytes:
        # Decrypt first (not MultiFernet.rotate alone) so a wrong context is refused here too.
        return self.encrypt(self.decrypt(ciphertext, context), context)

    def close(self) -> None:
        return None


def _binding(context: Mapping[str, str] | None) -> bytes:
    canonical = json.dumps(
        dict(context or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).digest()


# -- key files --------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> bytes:
    """The Fernet key in ``path``, generated on first use.

    Creation is atomic across processes: the key is written and fsynced to a private temp file,
    then hard-linked into place. ``link`` fails if the name exists, so when several processes race
    exactly one key wins and everybody reads that one; nobody ever sees a half-written file.
    """
    with contextlib.suppress(FileNotFoundError):
        return read_key(path)
    _make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".fernet-", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)
    return read_key(path)


def read_key(path: Path) -> bytes:
    """Read and validate an existing key file; the error never quotes its content."""
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ConfigError(f"{path} is not a valid Fernet key file", path=str(path)) from None
    return key


def _make_private_dir(path: Path) -> None:
    if path.is_dir():
        return  # an existing folder is the operator's: leave its permissions alone
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- builder ----------------------------------------------------------------------------------


class FernetOptions(BaseModel, extra="forbid"):
    previous_keys: list[str] = []  # older key files, newest first; they only decrypt

    @field_validator("previous_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # From the environment the list arrives as one string: "a.key,b.key".
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value


def build(url: str, options: Mapping[str, Any], ctx: object = None) -> FernetSecretStore:
    if not url.lower().startswith(_SCHEME):
        raise ConfigError(f"MLSMITH_SECRETS_URL must start with {_SCHEME}", setting="secrets_url")
    path = Path(url[len(_SCHEME) :])
    if not path.is_absolute():
        raise ConfigError(
            "MLSMITH_SECRETS_URL needs the absolute path of the key file: "
            "fernet-file:///path/to/fernet.key",
            setting="secrets_url",
        )
    try:
        opts = FernetOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"invalid secrets options: {exc}", setting="secrets_options") from exc
    keys = [load_or_create_key(path)]
    for previous in opts.previous_keys:
        try:
            keys.append(read_key(Path(previous)))  # never created: a missing old key is a mistake
        except FileNotFoundError:
            raise ConfigError(f"previous key file {previous} does not exist") from None
    return FernetSecretStore(keys)
