"""``LogNotifier``: each event becomes one JSON log line on the ``mlsmith.events`` logger.

The local default: operators see run and deployment events in the server's log and can ship them
with whatever collects logs already.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlsmith.backends.local.notifier.envelope import encode_event
from mlsmith.core.backends import BuildContext

EVENTS_LOGGER = "mlsmith.events"

log = logging.getLogger(__name__)


class LogNotifier:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(EVENTS_LOGGER)

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        try:
            line = encode_event(event, payload).decode()
            # The event name also rides as a record attribute for structured log handlers.
            self._logger.info("%s", line, extra={"mlsmith_event": str(event)})
        except Exception:
            log.warning("could not log event %r", event, exc_info=True)

    def close(self) -> None:
        """Nothing is buffered."""


def build_log(url: str, options: Mapping[str, Any], ctx: BuildContext) -> LogNotifier:
    return LogNotifier()
