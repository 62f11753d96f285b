"""The JSON form of an event, shared by every notifier: ``{"event": ..., "payload": ...}``.

Payloads come from services and may hold datetimes, ids, paths or numpy scalars: anything JSON
cannot hold is stringified, NaN becomes null, and a payload that cannot be encoded at all (a
reference cycle) is replaced by its repr, because a notification must never fail a run.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core

MAX_REPR_CHARS = 10_000


def encode_event(event: str, payload: Any) -> bytes:
    """Compact UTF-8 JSON of the event envelope; never raises."""
    envelope = {"event": _safe_str(event), "payload": payload}
    try:
        return pydantic_core.to_json(envelope, fallback=_safe_str, inf_nan_mode="null")
    except Exception:  # cycles, undecodable bytes, hostile __str__: keep the event, drop detail
        fallback = {"event": envelope["event"], "payload": {"repr": _safe_str(payload)}}
        return json.dumps(fallback, ensure_ascii=False).encode()


def to_jsonable(event: str, payload: Any) -> dict[str, Any]:
    """The envelope as plain JSON types, exactly as a receiver would decode it."""
    return json.loads(encode_event(event, payload))


def _safe_str(value: Any) -> str:
    try:
        return str(value)[:MAX_REPR_CHARS]
    except Exception:
        return f"<unprintable {type(value).__name__}>"
