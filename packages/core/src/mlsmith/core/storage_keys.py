"""The one helper that canonicalises and confines storage keys; every storage adapter uses it.

Keys are built structurally from ids (``runs/<run_id>/attempt-1/pipeline.skops``). Anything that
could escape the store's root or mean something else to a URL parser is refused, including
percent-encoded (and doubly encoded) spellings of it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from mlsmith.core.errors import InvalidInput

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_MAX_DECODE_ROUNDS = 5


def canonical_key(key: str, *, allow_empty: bool = False) -> str:
    """Return the canonical form of ``key`` or raise InvalidInput.

    Rules: decode percent-escapes until stable; then no backslash, ``#``, ``?``, NUL or control
    characters, no leading ``/`` (absolute), no ``..`` or ``.`` segments, no empty segments, and
    each segment limited to ``[A-Za-z0-9._-]``.
    """
    if not isinstance(key, str):
        raise InvalidInput("storage key must be a string")
    decoded = key
    for _ in range(_MAX_DECODE_ROUNDS):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    else:
        raise InvalidInput("storage key is encoded too many times", key=key[:200])
    stripped = decoded.strip("/") if allow_empty else decoded
    if stripped == "" and allow_empty:
        return ""
    if decoded.startswith("/") or re.match(r"^[A-Za-z]:", decoded):
        raise InvalidInput("storage key must be relative", key=key[:200])
    if any(c in decoded for c in "\\#?") or any(ord(c) < 32 for c in decoded):
        raise InvalidInput("storage key has a forbidden character", key=key[:200])
    parts = decoded.rstrip("/").split("/") if allow_empty else decoded.split("/")
    for part in parts:
        if part in ("", ".", "..") or not _SEGMENT.match(part):
            raise InvalidInput("storage key has an invalid segment", key=key[:200])
    return "/".join(parts)


def join_key(*parts: str) -> str:
    """Join already-safe parts (ids, fixed names) into one canonical key."""
    return canonical_key("/".join(p.strip("/") for p in parts if p))
