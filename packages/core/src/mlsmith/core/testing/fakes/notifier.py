"""``RecordingNotifier``: keeps every published event in memory, for core unit tests.

Payloads are stored in their JSON form, as a real notifier would deliver them (anything JSON
cannot hold is stringified), so a service test sees what a webhook receiver would see.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pydantic_core


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        record = (str(event), _as_json(payload))
        with self._lock:
            self.events.append(record)

    def named(self, event: str) -> list[dict[str, Any]]:
        """Payloads of the events called ``event``, oldest first."""
        with self._lock:
            return [payload for name, payload in self.events if name == event]

    def close(self) -> None:
        """Nothing to release; recorded events stay readable."""


def _as_json(payload: Any) -> Any:
    try:
        return json.loads(pydantic_core.to_json(payload, fallback=_safe_str, inf_nan_mode="null"))
    except Exception:  # a reference cycle: a notification must still never fail the caller
        return {"repr": _safe_str(payload)}


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
