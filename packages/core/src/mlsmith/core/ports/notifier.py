"""Notifier port: publish run and deployment events to people and systems."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Notifier(Protocol):
    def publish(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver ``{"event": event, "payload": payload}`` with bounded retries. A delivery that
        finally fails is logged, never raised: a notification must not fail a run."""
        ...

    def close(self) -> None: ...
