"""The one helper that canonicalises and confines storage keys; every storage adapter uses it.

Keys are built structurally from ids (``runs/<run_id>/attempt-1/pipeline.skops``). Anything that
could escape the store's root or mean something else to a URL parser is refused, including
percent-encoded (and doubly encoded) spellings of it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from mlsmith.core.errors import InvalidInput

# An allowlist, not a denylist: whatever is not ASCII letters, digits, '.', '_' or '-' (unicode
# look-alikes of '.' and '/', ':', '~', '%', spaces, control characters) can never reach a backend.
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_DRIVE = re.compile(r"[A-Za-z]:")
_MAX_DECODE_ROUNDS = 5
MAX_KEY_LENGTH = 1024  # S3's limit; also keeps paths well under PATH_MAX on local disks
MAX_SEGMENT_LENGTH = 255  # NAME_MAX of common filesystems


def canonical_key(key: str, *, allow_empty: bool = False) -> str:
    """Return the canonical form of ``key`` or raise InvalidInput.

    Rules: decode percent-escapes until stable; then no backslash, ``#``, ``?``, NUL or control
    characters, no leading ``/`` (absolute) or drive letter, no ``..`` or ``.`` segments, no empty
    segments, and each segment limited to ``[A-Za-z0-9._-]``.

    ``allow_empty`` is for prefixes: ``""`` (everything) is accepted and one trailing ``/`` is
    dropped, so ``"runs/"`` and ``"runs"`` name the same folder.
    """
    if not isinstance(key, str):
        raise InvalidInput("storage key must be a string")
    decoded = _decode_until_stable(key)
    if decoded.startswith("/") or _DRIVE.match(decoded):
        raise InvalidInput("storage key must be relative", key=key[:200])
    if any(c in decoded for c in "\\#?") or any(ord(c) < 32 or ord(c) == 127 for c in decoded):
        raise InvalidInput("storage key has a forbidden character", key=key[:200])
    if allow_empty:
        decoded = decoded.removesuffix("/")
        if decoded == "":
            return ""
    if len(decoded) > MAX_KEY_LENGTH:
        raise InvalidInput("storage key is too long", key=key[:200])
    parts = decoded.split("/")
    for part in parts:
        if (
            part in (".", "..")
            or len(part) > MAX_SEGMENT_LENGTH
            or not _SEGMENT.fullmatch(part)  # also refuses the empty segment of "a//b"
        ):
            raise InvalidInput("storage key has an invalid segment", key=key[:200])
    return decoded


def join_key(*parts: str) -> str:
    """Join already-safe parts (ids, fixed names) into one canonical key."""
    return canonical_key("/".join(p.strip("/") for p in parts if p))


def is_under(key: str, prefix: str) -> bool:
    """Whether canonical ``key`` lies in the folder named by canonical ``prefix``.

    Folder semantics, not string semantics: ``runs/r1`` does not contain ``runs/r10/x``, so
    ``delete_prefix("runs/r1")`` can never reach another run's objects.
    """
    return prefix == "" or key.startswith(prefix + "/")


def _decode_until_stable(key: str) -> str:
    decoded = key
    for _ in range(_MAX_DECODE_ROUNDS):
        nxt = unquote(decoded)
        if nxt == decoded:
            return decoded
        decoded = nxt
    raise InvalidInput("storage key is encoded too many times", key=key[:200])
