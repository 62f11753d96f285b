"""API keys: ``mls_<key id>_<secret><checksum>``, shown once, stored only as a hash.

* ``mls_`` makes a key recognisable (in the Authorization header, and to secret scanners);
* the key id (12 hex) is public: listings show ``mls_<key id>`` and lookups go by it;
* the secret is 256 random bits (64 hex);
* the checksum (8 hex of CRC-32 over everything before it) catches typos before any DB lookup.

The store keeps ``auth.hash_api_key(whole key)``; the plaintext exists only in ``create``'s return.
A key may be bound to one workspace (it then sees nothing else) and may expire.
"""

from __future__ import annotations

import re
import secrets
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING

from mlsmith.core.domain import ApiKey, utcnow
from mlsmith.core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from mlsmith.core.services import access
from mlsmith.core.services.credentials import clean_name
from mlsmith.core.services.principals import API_KEY_PREFIX, Principal

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

MAX_EXPIRY_DAYS = 3650
_KEY = re.compile(rf"^{API_KEY_PREFIX}([0-9a-f]{{12}})_([0-9a-f]{{64}})([0-9a-f]{{8}})$")


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode()):08x}"


def _new_plaintext() -> tuple[str, str]:
    kid, secret = secrets.token_hex(6), secrets.token_hex(32)
    body = f"{API_KEY_PREFIX}{kid}_{secret}"
    return f"{API_KEY_PREFIX}{kid}", body + _checksum(body)


def parse_key(presented: str) -> str:
    """The public key id of a well-formed key; Unauthenticated for anything else (no lookup)."""
    m = _KEY.match(presented)
    if m is None or _checksum(presented[:-8]) != m.group(3):
        raise Unauthenticated("invalid API key")
    return f"{API_KEY_PREFIX}{m.group(1)}"


def create(
    backends: Backends,
    principal: Principal,
    *,
    name: str,
    workspace_id: str | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiKey, str]:
    """The stored key and its plaintext (shown once). Only an interactive login can mint keys: a
    key minting keys would let a workspace-bound or expiring key outgrow its limits."""
    if principal.via != "token":
        raise PermissionDenied("API keys can only be created from a signed-in session")
    name = clean_name(name, what="key name")
    if expires_in_days is not None and not (
        isinstance(expires_in_days, int) and 1 <= expires_in_days <= MAX_EXPIRY_DAYS
    ):
        raise InvalidInput(f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}")
    if workspace_id is not None:
        access.scope_in(backends, principal, workspace_id)  # NotFound unless a member
    key_id, plaintext = _new_plaintext()
    key = ApiKey(
        user_id=principal.user.id,
        workspace_id=workspace_id,
        name=name,
        key_id=key_id,
        secret_hash=backends.auth.hash_api_key(plaintext),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    with backends.metadata.unit_of_work() as uow:
        uow.api_keys.add(key)
    return key, plaintext


def list_keys(backends: Backends, principal: Principal) -> list[ApiKey]:
    """The caller's keys, revoked ones included (with ``revoked_at``)."""
    with backends.metadata.unit_of_work() as uow:
        return uow.api_keys.list_for_user(principal.user.id)


def revoke(backends: Backends, principal: Principal, key_id: str) -> ApiKey:
    """Revoke one of the caller's keys by its public id (``mls_...``) or its row id. Idempotent."""
    with backends.metadata.unit_of_work() as uow:
        key = next(
            (
                k
                for k in uow.api_keys.list_for_user(principal.user.id)
                if key_id in (k.key_id, k.id)
            ),
            None,
        )
        if key is None:
            raise NotFound(f"api key {key_id!r} not found", kind="api_key", id=key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            uow.api_keys.save(key)
        return key
